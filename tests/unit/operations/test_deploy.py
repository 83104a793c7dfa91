"""The deploy pipeline (``service.operations.deploy``) against a fake Terraform and a fake S3: what a
provision plans, applies and records; the no-op verdict; refusals before anything is claimed or
applied; unprovision removing only what the state manages; a lock lost mid-apply."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from service.domain.journal import Journal
from service.domain.workload import Workload
from service.engine.door import DoorPass
from service.errors import DescriptorInvalid, LockLost
from service.operations.deploy import EarlyReads
from tests.support.descriptors import WorkloadSpec
from tests.support.harness import BUCKET, Harness, harness


def _problems(refusal: DescriptorInvalid) -> str:
    return "; ".join(p.render() + " " + p.solution for p in refusal.problems)


def test_a_first_provision_deploys_both_objects_and_records_them(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec(), b"x = 1\n")
        done = h.provision(workload)
        assert (done.summary.add, done.summary.change, done.summary.destroy) == (2, 0, 0)
        assert not done.verified_without_terraform
        assert h.s3.objects[(BUCKET, workload.deployed_key)].body == b"x = 1\n"
        assert h.s3.objects[(BUCKET, workload.deployed_key)].tags["witboost:component-id"] == workload.component_id
        assert (BUCKET, workload.descriptor_key) in h.s3.objects
        entry = h.parts.registry.get(workload.component_id)
        assert entry is not None
        assert entry.deployed
        assert entry.last_plan_id == done.plan_id
        assert entry.plan_summary == {"add": 2, "change": 0, "destroy": 0, "import": 0}
        assert h.terraform.commands == ["init", "plan", "apply"]


def test_an_unchanged_provision_is_verified_without_terraform_and_keeps_the_last_plan(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        first = h.provision(workload)
        h.terraform.commands.clear()
        again = h.provision(workload)
        assert again.verified_without_terraform
        assert again.plan_id is None
        assert h.terraform.commands == []
        entry = h.parts.registry.get(workload.component_id)
        assert entry is not None
        assert entry.last_plan_id == first.plan_id


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, w: h.s3.put(BUCKET, w.deployed_key, b"print('intruder')\n"), id="dag-overwritten"),
        pytest.param(lambda h, w: h.s3.delete(BUCKET, w.descriptor_key), id="descriptor-deleted"),
        pytest.param(lambda h, w: h.s3.objects[(BUCKET, w.deployed_key)].tags.clear(), id="tags-removed"),
        pytest.param(lambda h, w: h.stage(WorkloadSpec(), b"x = 2\n"), id="staged-dag-changed"),
    ],
)
def test_anything_else_than_the_last_apply_goes_to_terraform(tmp_path: Path, tamper: object) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        h.provision(workload)
        tamper(h, workload)  # type: ignore[operator]
        h.terraform.commands.clear()
        done = h.provision(workload)
        assert not done.verified_without_terraform
        assert "plan" in h.terraform.commands
        assert done.summary.has_changes


def test_a_dag_airflow_cannot_load_is_refused_before_terraform_and_frees_its_claims(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec(), b"def broken(:\n")
        with pytest.raises(DescriptorInvalid) as refused:
            h.provision(workload)
        assert "does not compile" in _problems(refused.value)
        assert h.terraform.commands == []
        assert h.parts.ownership.holder(BUCKET, workload.deployed_key) is None
        assert (BUCKET, workload.deployed_key) not in h.s3.objects


def test_another_components_key_is_refused_by_name(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        # The workload's deployed key, already claimed by another data product's component.
        h.parts.ownership.claims.claim("urn:dmb:cmp:hr:payroll:1:x", BUCKET, [workload.deployed_key])
        with pytest.raises(DescriptorInvalid) as refused:
            h.provision(workload)
        assert "urn:dmb:cmp:hr:payroll:1:x" in _problems(refused.value)
        assert (BUCKET, workload.deployed_key) not in h.s3.objects
        assert h.terraform.commands == []


def test_an_object_nothing_proves_is_the_workloads_is_never_overwritten(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        h.s3.put(BUCKET, workload.deployed_key, b"someone else's DAG\n")
        with pytest.raises(DescriptorInvalid) as refused:
            h.provision(workload)
        assert "mwaa-sp adopt" in _problems(refused.value)
        assert h.s3.objects[(BUCKET, workload.deployed_key)].body == b"someone else's DAG\n"


def test_its_own_tagged_object_is_imported_on_a_fresh_state(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        h.s3.put(BUCKET, workload.deployed_key, b"x = 1\n", {"witboost:component-id": workload.component_id})
        journal = Journal()
        done = h.provision(workload, journal)
        assert done.summary.imported == 1
        assert any("adopted" in e["message"] for e in journal.entries)


def test_unprovision_removes_what_the_state_manages_and_says_so_the_second_time(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        h.provision(workload)
        gone = h.unprovision(workload)
        assert gone.summary.destroy == 2
        assert (BUCKET, workload.deployed_key) not in h.s3.objects
        assert h.parts.ownership.holder(BUCKET, workload.deployed_key) is None
        journal = Journal()
        again = h.unprovision(workload, journal)
        assert again.plan_id is None
        assert any("Nothing to remove" in e["message"] for e in journal.entries)


def test_a_lock_lost_mid_apply_stops_terraform_and_the_registry_is_left_alone(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        h.terraform.hold("apply")
        passes: list[DoorPass] = []
        failure: list[BaseException] = []

        def provision(door: DoorPass) -> None:
            passes.append(door)
            h.parts.deployer.provision(door, workload, Journal())

        def run() -> None:
            try:
                h.inside(workload, provision)
            except BaseException as exc:  # noqa: BLE001 - the outcome is what is checked
                failure.append(exc)

        runner = threading.Thread(target=run)
        runner.start()
        assert h.terraform.reached["apply"].wait(60)
        passes[0].held.mark_lost("its database connection died")  # what the watchdog does
        runner.join(60)
        assert [type(f) for f in failure] == [LockLost]
        assert "its database connection died" in str(failure[0])
        assert h.parts.registry.get(workload.component_id) is None


def test_an_unchanged_provision_writes_only_its_outcome_and_only_as_the_holder(tmp_path: Path) -> None:
    from sqlalchemy import delete

    from service.store.fences import Fence
    from service.store.models import WorkloadRow

    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        h.provision(workload)
        registry = h.parts.registry
        first = registry.get(workload.component_id)
        assert first is not None
        assert first.recorded is not None
        registry.record(workload, first.state_key, "provision", "FAILED", None, first.recorded)

        assert h.provision(workload).verified_without_terraform  # the no-op, after a failure
        again = registry.get(workload.component_id)
        assert again is not None
        assert (again.last_operation, again.last_status, again.deployed) == ("provision", "COMPLETED", True)
        assert again.last_at >= first.last_at
        assert (again.recorded, again.plan_summary, again.last_plan_id) == (
            first.recorded,
            first.plan_summary,
            first.last_plan_id,
        )

        stale = Fence(workload.workload_key, 0)  # someone entered the door since
        with pytest.raises(LockLost, match="write was refused"):
            registry.record_unchanged(workload, first.state_key, first.recorded, fence=stale)

        with registry.engine.begin() as connection:  # the row went away meanwhile: written whole
            connection.execute(delete(WorkloadRow))
        registry.record_unchanged(workload, first.state_key, first.recorded)
        restored = registry.get(workload.component_id)
        assert restored is not None
        assert (restored.recorded, restored.last_status, restored.dag_key) == (
            first.recorded,
            "COMPLETED",
            workload.deployed_key,
        )


def _read_on_arrival(h: Harness, workload: Workload) -> EarlyReads:
    """What ``TaskLauncher.start`` does when a provision arrives and nobody is inside the door."""
    # The last provision's answer comes before its job leaves the door (the lock's release, the next
    # job's start): wait for that, or a loaded machine finds the door still occupied.
    assert h.parts.door.drain(60)
    since = h.parts.door.quiet(workload.workload_key)
    assert since is not None
    return EarlyReads(observing=h.parts.deployer.observe(workload), since=since)


def test_reads_made_on_arrival_are_not_trusted_when_someone_entered_before_the_provision(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        h.provision(workload)
        early = _read_on_arrival(h, workload)
        # Another holder enters first, changes the DAG and ends without recording (killed mid-apply):
        # the registry still shows the last apply, and what was read on arrival matches it.
        h.inside(workload, lambda _door: h.s3.put(BUCKET, workload.deployed_key, b"half = 'applied'\n"))
        h.terraform.commands.clear()
        done = h.inside(workload, lambda door: h.parts.deployer.provision(door, workload, Journal(), early=early))
        assert not done.verified_without_terraform  # read again inside the door: the change is seen
        assert "plan" in h.terraform.commands
        assert h.s3.objects[(BUCKET, workload.deployed_key)].body == b"x = 1\n"


def test_reads_made_on_arrival_are_used_when_the_provision_entered_next(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        workload = h.stage(WorkloadSpec())
        h.provision(workload)
        early = _read_on_arrival(h, workload)
        # Changed outside any door after the reads (drift, which the next check finds): the verdict
        # is the reads', which shows they were not made again.
        h.s3.put(BUCKET, workload.deployed_key, b"drifted = True\n")
        h.terraform.commands.clear()
        done = h.inside(workload, lambda door: h.parts.deployer.provision(door, workload, Journal(), early=early))
        assert done.verified_without_terraform
        assert h.terraform.commands == []
