"""Keyset pages: newest first, a cursor that names the last row shown, a bounded limit.

A list of thousands of rows is read a page at a time, with the filters in SQL and an index to walk
(``ORDER BY moment DESC, key``): the tenth-thousandth row costs what the first does, unlike an
``OFFSET``. The cursor is opaque to clients (URL-safe base64 of the last row's moment and key).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, Select, literal, tuple_
from sqlalchemy.orm import Session

from service.errors import Problem, RequestInvalid

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_EPOCH = "1970-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None
    """The cursor of the next page; None on the last."""


@dataclass(frozen=True)
class Cursor:
    moment: datetime
    key: str


def encode(moment: datetime | None, key: str) -> str:
    raw = json.dumps([moment.isoformat() if moment else _EPOCH, key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> Cursor | None:
    """The cursor a client sent back; ``RequestInvalid`` naming ``cursor`` when it is not one of ours."""
    if not cursor:
        return None
    try:
        moment, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return Cursor(datetime.fromisoformat(moment), str(key))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise RequestInvalid(
            "The cursor is not one this service gave",
            [Problem("cursor", "not a cursor of this list", "Send the cursor of the previous page's Link, or none.")],
        ) from exc


def limit_of(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise RequestInvalid(
            "The limit is out of range",
            [Problem("limit", f"must be between 1 and {MAX_LIMIT}", f"Send a limit up to {MAX_LIMIT}.")],
        )
    return limit


def newest_first(query: Select[Any], moment: Any, key: Any, cursor: Cursor | None, limit: int) -> Select[Any]:
    """``query``'s page after ``cursor``, in (moment, key) descending order: one row-value comparison,
    which the (moment DESC, key DESC) index answers with a range scan, however deep the page."""
    if cursor is not None:
        query = query.where(tuple_(moment, key) < tuple_(literal(cursor.moment, moment.type), cursor.key))
    return query.order_by(moment.desc(), key.desc()).limit(limit + 1)


def read(
    engine: Engine,
    query: Select[Any],
    moment: Any,
    key: Any,
    convert: Callable[[Any], T],
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[T]:
    """One page of ``query``'s rows, newest by ``(moment, key)`` first, each ``convert``-ed, with the
    cursor of the next page when there is one (one row more than the page is read to know)."""
    size = limit_of(limit)
    statement = newest_first(query, moment, key, decode(cursor), size)
    with Session(engine) as session:
        rows = list(session.scalars(statement))
    shown = rows[:size]
    last = shown[-1] if len(rows) > size else None
    more = encode(getattr(last, moment.key), getattr(last, key.key)) if last is not None else None
    return Page([convert(row) for row in shown], more)
