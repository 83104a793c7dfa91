"""Stored plans are pruned to the newest MWAA_SP_PLAN_RETENTION per workload, always keeping the
newest applied plan and the reviewed plan the review gate may still need."""

from __future__ import annotations

from pathlib import Path

from service.domain.deployment import ChangeSummary
from service.domain.review import PlanArtifact
from service.store.database import open_database
from service.store.plans import PlanStore, kept


def _artifact(kind: str) -> PlanArtifact:
    return PlanArtifact(kind, ChangeSummary(1, 0, 0), "", {}, "", "digest", "changes")


def test_which_plans_are_kept() -> None:
    # Newest first: (id, kind, applied).
    plans = [
        ("p6", "provision", False),
        ("p5", "speculative", False),
        ("p4", "provision", False),
        ("p3", "provision", True),
        ("p2", "validate", False),
        ("p1", "provision", True),
    ]
    assert kept(plans, 2) == {"p6", "p5", "p3"}  # the newest two, and the newest applied
    assert kept(plans, 1) == {"p6", "p5", "p3"}  # the reviewed plan since the last apply too
    reviewed_older = [("n3", "provision", False), ("n2", "provision", False), ("n1", "speculative", False)]
    assert kept(reviewed_older, 1) == {"n3", "n1"}
    assert kept([("a", "provision", True), ("b", "speculative", False)], 1) == {"a"}  # reviewed before the apply
    assert kept(plans, 10) == {p for p, _, _ in plans}


def test_saving_prunes_the_workloads_older_plans_only(tmp_path: Path) -> None:
    store = PlanStore(open_database(f"sqlite:///{tmp_path / 'db.sqlite'}", upgrade=True), retention=3)
    applied = store.save("urn:a", _artifact("provision"), applied=True, plan_file=b"x" * 1000)
    reviewed = store.save("urn:a", _artifact("speculative"), applied=False)
    others = [store.save("urn:b", _artifact("provision"), applied=False) for _ in range(2)]
    newest = [store.save("urn:a", _artifact("provision"), applied=False) for _ in range(5)]
    ids = {p.plan_id for p in store.page("urn:a").items}
    assert ids == {applied, reviewed, *newest[-3:]}
    assert {p.plan_id for p in store.page("urn:b").items} == set(others)
