"""Drift checks (``service.operations.drift``) and registry rebuilds against a fake Terraform and S3:
the fast path decides only "in sync", Terraform judges the rest, reconcile repairs and the next
check is clean, ignored drift is reported apart; a rebuild restores the registry from the states."""

from __future__ import annotations

import shutil
from pathlib import Path

from service.domain.journal import Journal
from service.engine.door import DoorPass
from tests.support.descriptors import WorkloadSpec
from tests.support.harness import BUCKET, Harness, harness


def _check(h: Harness, *, thorough: bool = False, reconcile: bool = False) -> list[tuple[str, str, str]]:
    entries = h.parts.operations.select([], None)
    verdicts = h.parts.operations.drift(entries, thorough=thorough, reconcile=reconcile)
    return [(v.component_id.rsplit(":", 1)[-1], v.status, v.method) for v in verdicts]


def test_an_untouched_workload_is_in_sync_without_terraform(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.provision(h.stage(WorkloadSpec()))
        h.terraform.commands.clear()
        assert _check(h) == [("airflow-workload", "in_sync", "fast")]
        assert h.terraform.commands == []
        assert _check(h, thorough=True) == [("airflow-workload", "in_sync", "terraform")]


def test_an_overwritten_dag_is_drifted_and_a_deleted_pair_missing(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        changed, gone = (
            h.stage(WorkloadSpec(name="changed", dag_name="c.py")),
            h.stage(WorkloadSpec(name="gone", dag_name="g.py")),
        )
        h.provision(changed)
        h.provision(gone)
        h.s3.put(
            BUCKET, changed.deployed_key, b"print('intruder')\n", h.s3.objects[(BUCKET, changed.deployed_key)].tags
        )
        h.s3.delete(BUCKET, gone.deployed_key)
        h.s3.delete(BUCKET, gone.descriptor_key)
        assert sorted(_check(h)) == [("changed", "drifted", "terraform"), ("gone", "missing", "terraform")]
        entry = h.parts.registry.get(changed.component_id)
        assert entry is not None
        assert entry.drift_status == "drifted"


def test_reconcile_restores_what_the_last_apply_left_and_the_next_check_is_clean(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec(), b"x = 1\n")
        h.provision(workload)
        tags = h.s3.objects[(BUCKET, workload.deployed_key)].tags
        h.s3.put(BUCKET, workload.deployed_key, b"print('intruder')\n", tags)
        entries = h.parts.operations.select([], None)
        [verdict] = h.parts.operations.drift(entries, thorough=False, reconcile=True)
        assert verdict.status == "drifted"
        assert verdict.reconciled is not None
        assert h.s3.objects[(BUCKET, workload.deployed_key)].body == b"x = 1\n"
        assert _check(h) == [("airflow-workload", "in_sync", "fast")]


def test_ignored_drift_is_reported_apart_and_not_counted(tmp_path: Path) -> None:
    with harness(tmp_path, drift_ignore=("dags/*.py",)) as h:
        workload = h.stage(WorkloadSpec())
        h.provision(workload)
        h.s3.objects[(BUCKET, workload.deployed_key)].tags["owner"] = "someone"
        [verdict] = h.parts.operations.drift(h.parts.operations.select([], None), thorough=False, reconcile=False)
        assert verdict.status == "in_sync"
        assert [c["what"] for c in verdict.ignored] == ["tags"]


def test_a_rebuild_restores_the_registry_and_the_working_directory_from_the_states(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        h.provision(workload)
        objects = h.s3.objects
    # Another replica: its own empty database and no working directories, the same states and bucket.
    shutil.rmtree(tmp_path / "data" / "workloads")
    with harness(tmp_path, database_url=f"sqlite:///{tmp_path / 'fresh.db'}") as fresh:
        fresh.s3.objects = objects
        assert fresh.parts.registry.get(workload.component_id) is None
        assert fresh.parts.rebuilder.rebuild() == [workload.component_id]
        entry = fresh.parts.registry.get(workload.component_id)
        assert entry is not None
        assert entry.deployed
        assert fresh.parts.ownership.holder(BUCKET, workload.deployed_key) == workload.component_id

        def restored(door: DoorPass) -> str | None:
            return fresh.parts.workspaces.open(door, Journal()).inputs_digest

        assert fresh.inside(workload, restored) is not None
