"""Web view sessions, server-side: one row per sign-in, deleted by signing out.

The cookie (``service.api.session``) carries the session's id and expiry, signed with the token that
opened it; the row is what makes signing out final — a copy of the cookie taken before is worth
nothing after — and what makes two sign-ins two different sessions. Expiry is judged by the
database's clock, like every lease here."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from service.store.clock import db_now
from service.store.models import UiSessionRow


class SessionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, lifetime_s: int) -> tuple[str, datetime]:
        """A new session (and the expired ones gone): its id and when it expires."""
        session_id = secrets.token_urlsafe(24)
        with Session(self.engine) as session, session.begin():
            now = db_now(session)
            session.execute(delete(UiSessionRow).where(UiSessionRow.expires_at < now))
            expires = now + timedelta(seconds=lifetime_s)
            session.add(UiSessionRow(session_id=session_id, created_at=now, expires_at=expires))
        return session_id, expires

    def active(self, session_id: str) -> bool:
        with Session(self.engine) as session:
            expires = session.scalar(select(UiSessionRow.expires_at).where(UiSessionRow.session_id == session_id))
            return expires is not None and db_now(session) < expires

    def close(self, session_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(UiSessionRow).where(UiSessionRow.session_id == session_id))
