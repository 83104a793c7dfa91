"""Task launching (``service.operations.tasks``): a token only for a request that parses, every task
ends with its outcome in the store, and the answers are the contract's types; an unchanged
provision is answered before its bookkeeping, which cannot change the answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from service.contract.models import DescriptorKind, ProvisioningRequest, ProvisioningStatus
from service.domain.descriptor import parse_descriptor
from service.errors import DescriptorInvalid, RequestInvalid
from service.operations import tasks
from service.store.fences import FenceStore
from service.store.registry import Registry
from service.store.tasks import TaskStore
from tests.support.descriptors import WorkloadSpec, descriptor
from tests.support.harness import Harness, harness

DEADLINE_S = 60.0
LONG_AGO = datetime(2000, 1, 1)


def _request(text: str, kind: DescriptorKind = DescriptorKind.COMPONENT_DESCRIPTOR) -> ProvisioningRequest:
    return ProvisioningRequest(kind, text, False)


def test_a_provision_task_ends_completed_with_the_contracts_body(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.stage(WorkloadSpec())
        token, future = h.parts.launcher.start("provision", _request(descriptor(WorkloadSpec())))
        body = future.result(60)
        assert isinstance(body, ProvisioningStatus)
        assert body.status == "COMPLETED"
        assert body.info.private_info["planSummary"] == {"add": 2, "change": 0, "destroy": 0, "import": 0}  # type: ignore[union-attr]
        assert h.parts.launcher.status(token) == body


def test_a_failed_run_ends_failed_naming_why_and_is_recorded(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        # No staged DAG: the run fails inside the door (the token already exists).
        token, future = h.parts.launcher.start("provision", _request(descriptor(WorkloadSpec())))
        with pytest.raises(DescriptorInvalid):
            future.result(60)
        status = h.parts.launcher.status(token)
        assert status.status == "FAILED"
        assert "does not exist" in status.result
        entry = h.parts.registry.get("urn:dmb:cmp:finance:invoices:1:airflow-workload")
        assert entry is not None
        assert entry.last_status == "FAILED"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        pytest.param(_request("dataProduct: [", DescriptorKind.COMPONENT_DESCRIPTOR), "descriptor", id="bad-yaml"),
        pytest.param(_request("x: 1", DescriptorKind.DATAPRODUCT_DESCRIPTOR), "descriptorKind", id="kind"),
    ],
)
def test_a_refused_request_gets_no_token(tmp_path: Path, request_: ProvisioningRequest, field: str) -> None:
    with harness(tmp_path) as h:
        with pytest.raises((DescriptorInvalid, RequestInvalid)) as refused:
            h.parts.launcher.start("provision", request_)
        assert refused.value.problems[0].field.startswith(field)
        assert h.terraform.commands == []


def test_async_validation_reports_a_malformed_body_in_its_result(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        token, future = h.parts.launcher.start_validation(json.dumps({"descriptor": 3}).encode())
        done = future.result(60)
        assert done.status == "COMPLETED"
        assert h.parts.launcher.validation_status(token) == done
        result = done.info.public_info  # type: ignore[union-attr]
        assert result.valid is False
        assert any(e.startswith("descriptorKind: is missing") for e in result.error.errors)  # type: ignore[union-attr]
        assert any(e.startswith("descriptor: must be a string") for e in result.error.errors)  # type: ignore[union-attr]


def test_an_abandoned_task_body_fits_its_kind(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        launcher = type(h.parts.launcher)
        assert launcher.abandoned("provision").status == "FAILED"  # type: ignore[attr-defined]
        assert launcher.abandoned("validate").info.public_info.valid is False  # type: ignore[attr-defined]
        assert launcher.abandoned("reverse").updates == {}  # type: ignore[attr-defined]


class _HeldWrite:
    """The registry's write of an unchanged outcome, held at a gate: the test sees what the answer
    does not wait for. ``before`` runs as the write is entered (another holder's entry, say)."""

    def __init__(self, registry: Registry, before: Callable[[], object] = lambda: None) -> None:
        self.entered, self.gate = threading.Event(), threading.Event()
        self._write, self._before = registry.record_unchanged, before

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self._before()
        self.entered.set()
        assert self.gate.wait(DEADLINE_S), "the test never opened the gate"
        self._write(*args, **kwargs)


def _provisioned_long_ago(h: Harness, spec: WorkloadSpec, status: str = "COMPLETED") -> str:
    """A first provision, recorded as if made in 2000 (``status``): the no-op's write shows in ``last_at``."""
    from sqlalchemy import update

    from service.store.models import WorkloadRow

    _, first = h.parts.launcher.start("provision", _request(descriptor(spec)))
    assert first.result(DEADLINE_S).status == "COMPLETED"
    assert h.parts.door.drain(DEADLINE_S)
    component_id = parse_descriptor(descriptor(spec)).component_id
    with h.parts.registry.engine.begin() as connection:
        connection.execute(update(WorkloadRow).values(last_at=LONG_AGO, last_status=status))
    return component_id


def _last_at(h: Harness, component_id: str) -> datetime:
    entry = h.parts.registry.get(component_id)
    assert entry is not None
    return entry.last_at.replace(tzinfo=None)


def test_an_unchanged_provision_is_answered_before_its_bookkeeping(tmp_path: Path, monkeypatch: Any) -> None:
    with harness(tmp_path) as h:
        spec = WorkloadSpec()
        h.stage(spec)
        component_id = _provisioned_long_ago(h, spec)
        held = _HeldWrite(h.parts.registry)
        monkeypatch.setattr(h.parts.registry, "record_unchanged", held)

        token, future = h.parts.launcher.start("provision", _request(descriptor(spec)))
        body = future.result(DEADLINE_S)  # answered while its write waits at the gate
        assert held.entered.is_set()
        assert body.status == "COMPLETED"
        assert body.info.private_info["noOpVerifiedWithoutTerraform"] is True  # type: ignore[union-attr]
        assert _last_at(h, component_id) == LONG_AGO
        assert h.parts.launcher.status(token).status == "RUNNING"  # its row ends after the write

        held.gate.set()
        assert h.parts.door.drain(DEADLINE_S)
        assert _last_at(h, component_id) > LONG_AGO
        assert h.parts.launcher.status(token) == body


def test_an_unchanged_provision_after_a_failure_is_answered_after_its_write(tmp_path: Path, monkeypatch: Any) -> None:
    with harness(tmp_path) as h:
        spec = WorkloadSpec()
        h.stage(spec)
        component_id = _provisioned_long_ago(h, spec, status="FAILED")
        held = _HeldWrite(h.parts.registry)
        monkeypatch.setattr(h.parts.registry, "record_unchanged", held)

        _, future = h.parts.launcher.start("provision", _request(descriptor(spec)))
        assert held.entered.wait(DEADLINE_S)
        assert not future.done()  # its answer may yet be Airflow's (the post-deploy check)
        held.gate.set()
        assert future.result(DEADLINE_S).status == "COMPLETED"
        entry = h.parts.registry.get(component_id)
        assert entry is not None
        assert entry.last_status == "COMPLETED"


def test_an_unchanged_outcome_another_holder_refuses_leaves_the_answer_and_says_so(
    tmp_path: Path, monkeypatch: Any
) -> None:
    with harness(tmp_path) as h:
        spec = WorkloadSpec()
        workload = h.stage(spec)
        component_id = _provisioned_long_ago(h, spec)
        # Someone entered the door since this holder did (its lock was lost): its write is refused.
        held = _HeldWrite(h.parts.registry, lambda: FenceStore(h.parts.registry.engine).advance(workload.workload_key))
        held.gate.set()
        monkeypatch.setattr(h.parts.registry, "record_unchanged", held)

        token, future = h.parts.launcher.start("provision", _request(descriptor(spec)))
        assert future.result(DEADLINE_S).status == "COMPLETED"  # the verdict on what it read stands
        assert h.parts.door.drain(DEADLINE_S)
        ended = h.parts.launcher.status(token)
        assert ended.status == "COMPLETED"
        warned = [e for e in ended.logs if "verified unchanged, but not recorded" in e.message]  # type: ignore[union-attr]
        assert [e.level for e in warned] == ["WARNING"]
        assert _last_at(h, component_id) == LONG_AGO


class _HeldRead:
    """The staged DAG's read, held on entry until ``released`` is set or ``hold_s`` passes. ``order``
    records when it returned and when the task's row was created; with ``released_by_row``, creating
    the row releases the read (a row created too early shows itself at once)."""

    def __init__(self, h: Harness, monkeypatch: Any, hold_s: float, released_by_row: bool = False) -> None:
        self.entered, self.released = threading.Event(), threading.Event()
        self.order: list[str] = []
        read, create = h.s3.get, TaskStore.create

        def held_read(bucket: str, key: str, max_bytes: int) -> bytes | None:
            self.entered.set()
            self.released.wait(hold_s)
            self.order.append("read")
            return read(bucket, key, max_bytes)

        def recorded(store: TaskStore, *args: Any, **kwargs: Any) -> str:
            self.order.append("task row")
            if released_by_row:
                self.released.set()
            return create(store, *args, **kwargs)

        monkeypatch.setattr(h.s3, "get", held_read)
        monkeypatch.setattr(TaskStore, "create", recorded)


def test_a_provision_records_its_task_once_its_early_reads_are_sent(tmp_path: Path, monkeypatch: Any) -> None:
    """The bookkeeping would compete with the reads being built: they go out first. The read is held
    for a second, or until a row created too early releases it."""
    monkeypatch.setattr(tasks, "READS_SENT_WAIT_S", DEADLINE_S)
    with harness(tmp_path) as h:
        spec = WorkloadSpec()
        h.stage(spec)
        held = _HeldRead(h, monkeypatch, hold_s=1.0, released_by_row=True)
        _, future = h.parts.launcher.start("provision", _request(descriptor(spec)))
        assert future.result(DEADLINE_S).status == "COMPLETED"
        assert held.order == ["read", "task row"]


def test_a_read_that_does_not_go_out_in_time_does_not_hold_the_task(tmp_path: Path, monkeypatch: Any) -> None:
    with harness(tmp_path) as h:
        spec = WorkloadSpec()
        h.stage(spec)
        held = _HeldRead(h, monkeypatch, hold_s=DEADLINE_S)
        started: list[tuple[str, Any]] = []
        starting = threading.Thread(
            target=lambda: started.append(h.parts.launcher.start("provision", _request(descriptor(spec))))
        )
        starting.start()
        starting.join(DEADLINE_S)
        assert started, "the task waited for as long as its read"
        assert held.entered.wait(DEADLINE_S)
        assert held.order == ["task row"]  # recorded while the read is still held
        token, future = started[0]
        assert h.parts.launcher.status(token).status == "RUNNING"
        held.released.set()
        assert future.result(DEADLINE_S).status == "COMPLETED"
