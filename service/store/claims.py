"""Who owns each deployed S3 key: one component per ``(bucket, key)``, claimed atomically.

Two data products' sanitised names can collide (``fin:inv:1`` + ``2_load.py`` and ``fin:inv_1:2`` +
``load.py`` both deploy ``fin_inv_1_2_load.py``), and different workloads run in parallel, so
ownership cannot be decided by reading what is deployed and then writing: the primary key of
``key_claims`` decides, in one transaction, before Terraform plans. A claim is released when its
component is unprovisioned (or leaves the key behind by being re-pointed).

``origin`` says how a claim was made: ``provision`` (by the component's own provision) or
``adopted`` (an operator's explicit adoption of an object already there, which is proof of ownership).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, and_, bindparam, delete, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.store.clock import sql_now
from service.store.fences import Fence, check_fence
from service.store.models import ClaimRow

_HOLDERS = select(ClaimRow.bucket, ClaimRow.key, ClaimRow.component_id, ClaimRow.origin, ClaimRow.claimed_by).where(
    ClaimRow.bucket == bindparam("bucket"), ClaimRow.key.in_(bindparam("keys", expanding=True))
)

Origin = str  # "provision" | "adopted"


@dataclass(frozen=True)
class Claim:
    bucket: str
    key: str
    component_id: str
    origin: str
    claimed_by: str


@dataclass(frozen=True)
class Claimed:
    """The outcome of :meth:`ClaimStore.claim`: the keys newly claimed, or who holds the others."""

    new: tuple[str, ...]
    conflicts: tuple[Claim, ...]


class _Conflict(Exception):
    def __init__(self, claims: tuple[Claim, ...]) -> None:
        super().__init__("keys held by another component")
        self.claims = claims


def _claim(row: ClaimRow) -> Claim:
    return Claim(row.bucket, row.key, row.component_id, row.origin, row.claimed_by)


class ClaimStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def claim(
        self,
        component_id: str,
        bucket: str,
        keys: Iterable[str],
        *,
        origin: Origin = "provision",
        claimed_by: str = "",
        fence: Fence | None = None,
    ) -> Claimed:
        """Claim every key for ``component_id``, or none: when another component holds any of them,
        nothing is claimed and the holders are returned."""
        wanted = sorted(set(keys))  # one order for everyone: two claimers never wait for each other
        try:
            return self._claim(component_id, bucket, wanted, origin, claimed_by, fence)
        except _Conflict as conflict:
            return Claimed((), conflict.claims)

    def _claim(
        self, component_id: str, bucket: str, wanted: list[str], origin: Origin, claimed_by: str, fence: Fence | None
    ) -> Claimed:
        with Session(self.engine) as session, session.begin():
            check_fence(session, fence)
            new = []
            for key in wanted:
                inserted = session.execute(
                    self._insert(ClaimRow)
                    .values(
                        bucket=bucket,
                        key=key,
                        component_id=component_id,
                        origin=origin,
                        claimed_by=claimed_by,
                        claimed_at=sql_now(session),
                    )
                    .on_conflict_do_nothing(index_elements=["bucket", "key"])
                    .returning(ClaimRow.key)
                )
                if inserted.first() is not None:  # nothing comes back when the key was held
                    new.append(key)
            holders = session.scalars(select(ClaimRow).where(ClaimRow.bucket == bucket, ClaimRow.key.in_(wanted))).all()
            conflicts = tuple(_claim(r) for r in holders if r.component_id != component_id)
            if conflicts:
                raise _Conflict(conflicts)  # rolls the transaction back: nothing is claimed
            if origin == "adopted":
                for row in holders:
                    row.origin, row.claimed_by = origin, claimed_by
        return Claimed(tuple(new), ())

    def holders(self, bucket: str, keys: Iterable[str]) -> dict[str, Claim]:
        # Read on every validate: plain rows from a statement built once (building it cost more CPU
        # than running it), no ORM session or identity map.
        with self.engine.connect() as connection:
            rows = connection.execute(_HOLDERS, {"bucket": bucket, "keys": sorted(set(keys))})
            return {row.key: Claim(*row) for row in rows}

    def of(self, component_id: str) -> list[Claim]:
        with Session(self.engine) as session:
            rows = session.scalars(select(ClaimRow).where(ClaimRow.component_id == component_id))
            return [_claim(r) for r in rows]

    def release(
        self,
        component_id: str,
        *,
        only: Iterable[tuple[str, str]] | None = None,
        keep: Iterable[tuple[str, str]] = (),
        fence: Fence | None = None,
    ) -> int:
        """Drop ``component_id``'s claims: all of them, or ``only`` those (bucket, key) pairs, never
        those in ``keep`` (a re-pointed workload keeps the keys it now deploys to)."""
        query = delete(ClaimRow).where(ClaimRow.component_id == component_id)
        if only is not None:
            pairs = list(only)
            if not pairs:
                return 0
            query = query.where(tuple_(ClaimRow.bucket, ClaimRow.key).in_(pairs))
        kept = list(keep)
        if kept:
            query = query.where(~or_(*[and_(ClaimRow.bucket == b, ClaimRow.key == k) for b, k in kept]))
        with Session(self.engine) as session, session.begin():
            check_fence(session, fence)
            return int(session.execute(query).rowcount)  # type: ignore[attr-defined]
