"""Key claims: one component per (bucket, key), decided by the database's unique constraint, all of
a request's keys or none — also when many claimers race, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from service.errors import LockLost
from service.store.claims import ClaimStore
from service.store.fences import FenceStore

A, B = "urn:dmb:cmp:fin:inv:1:wl", "urn:dmb:cmp:fin:inv_1:2:wl"
KEY = "dags/fin_inv_1_2_load.py"


def test_a_key_has_one_owner_and_a_refused_claim_takes_nothing(engine: Engine) -> None:
    claims = ClaimStore(engine)
    first = claims.claim(A, "b", [KEY, "dags/a_descriptor.yaml"])
    assert first.new == ("dags/a_descriptor.yaml", KEY)
    assert first.conflicts == ()
    again = claims.claim(A, "b", [KEY, "dags/a_descriptor.yaml"])
    assert again.new == ()  # already A's
    refused = claims.claim(B, "b", ["dags/b_descriptor.yaml", KEY])
    assert [(c.key, c.component_id) for c in refused.conflicts] == [(KEY, A)]
    # All or nothing: B's other key was not claimed either.
    assert claims.holders("b", ["dags/b_descriptor.yaml"]) == {}
    assert claims.holders("b", []) == {}  # nothing asked, nothing held
    assert set(claims.holders("b", [KEY, KEY, "dags/b_descriptor.yaml"])) == {KEY}
    assert claims.claim(B, "other-bucket", [KEY]).new == (KEY,)  # another bucket, another key


def test_release_frees_only_the_components_own_keys(engine: Engine) -> None:
    claims = ClaimStore(engine)
    claims.claim(A, "b", [KEY, "dags/old.py"])
    claims.claim(B, "b", ["dags/theirs.py"])
    assert claims.release(A, keep=[("b", KEY)]) == 1  # a re-pointed workload leaves dags/old.py
    assert set(claims.holders("b", [KEY, "dags/old.py", "dags/theirs.py"])) == {KEY, "dags/theirs.py"}
    assert claims.release(B, only=[("b", KEY)]) == 0  # never another's
    assert claims.release(A) == 1
    assert set(claims.holders("b", [KEY, "dags/theirs.py"])) == {"dags/theirs.py"}


def test_an_operators_adoption_is_recorded_as_such(engine: Engine) -> None:
    claims = ClaimStore(engine)
    claims.claim(A, "b", [KEY])
    claims.claim(A, "b", [KEY], origin="adopted", claimed_by="ops@host")
    held = claims.holders("b", [KEY])[KEY]
    assert (held.origin, held.claimed_by) == ("adopted", "ops@host")
    claims.claim(A, "b", [KEY])  # a later provision's claim keeps the proof
    assert claims.holders("b", [KEY])[KEY].origin == "adopted"


def test_racing_claimers_get_one_winner(engine: Engine) -> None:
    claims = ClaimStore(engine)
    start = threading.Barrier(8)
    outcomes: dict[str, bool] = {}

    def claim(n: int) -> None:
        component = f"urn:dmb:cmp:d:p:1:w{n}"
        start.wait()
        outcomes[component] = not claims.claim(component, "b", [f"dags/{n}_descriptor.yaml", KEY]).conflicts

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [c for c, won in outcomes.items() if won]
    assert len(winners) == 1
    assert claims.holders("b", [KEY])[KEY].component_id == winners[0]
    losers_keys = [f"dags/{n}_descriptor.yaml" for n in range(8) if f"urn:dmb:cmp:d:p:1:w{n}" != winners[0]]
    assert claims.holders("b", losers_keys) == {}


def test_a_stale_holders_claims_are_refused(engine: Engine) -> None:
    fences, claims = FenceStore(engine), ClaimStore(engine)
    stale = fences.advance("d/p/1/w")
    fresh = fences.advance("d/p/1/w")  # someone entered the door since
    assert fresh.generation == stale.generation + 1
    with pytest.raises(LockLost, match="generation 1 → 2"):
        claims.claim(A, "b", [KEY], fence=stale)
    assert claims.holders("b", [KEY]) == {}
    assert claims.claim(A, "b", [KEY], fence=fresh).new == (KEY,)
    with pytest.raises(LockLost):
        claims.release(A, fence=stale)
    assert claims.release(A, fence=fresh) == 1
