"""Where a registry command works: this process's components (:class:`InProcess`, through the same door as
the service) or a running service over HTTP (:class:`service.cli.remote.ServiceClient`). Both answer
with the API's JSON shapes."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from msgspec import Struct

from service.cli.progress import QUIET, Steps

if TYPE_CHECKING:
    from service.store.pages import Page
    from service.wiring import Components


def settings_for(sandbox: bool, *, serving: bool = False):  # type: ignore[no-untyped-def]
    from service import sandbox as sandbox_mode
    from service.settings import Settings

    settings = Settings.from_env()
    if sandbox or settings.sandbox:
        settings = sandbox_mode.prepare(settings, serving=serving)
    return settings


class Target(Protocol):
    """What the registry commands need: this process's components (:class:`Local`), or the service
    over HTTP (:class:`service.cli.remote.ServiceClient`). Both answer with the API's JSON shapes."""

    def workloads(self, data_product: str | None, status: str | None, drift: str | None) -> list[dict[str, Any]]: ...

    def workload(self, component_id: str) -> dict[str, Any]: ...

    def plans_of(self, component_id: str) -> list[dict[str, Any]]: ...

    def plan(self, component_id: str, plan_id: str) -> dict[str, Any]: ...

    def speculative_plan(self, descriptor: str) -> dict[str, Any]: ...

    def drift(
        self, workloads: list[str], data_product: str | None, *, thorough: bool, reconcile: bool, steps: Steps
    ) -> dict[str, Any]: ...

    def rebuild(self) -> list[str]: ...


class InProcess:
    """The service's components in this process: the same operations, through the same door.
    ``progress`` shows a plan's and a rebuild's steps (the service shows none of them remotely)."""

    def __init__(self, parts: Components, progress: Steps) -> None:
        self.parts = parts
        self.operations = parts.operations
        self.progress = progress

    def workloads(self, data_product: str | None, status: str | None, drift: str | None) -> list[dict[str, Any]]:
        return _every(lambda cursor: self.operations.workloads(data_product, status, drift, cursor=cursor, limit=500))

    def workload(self, component_id: str) -> dict[str, Any]:
        return _json(self.operations.workload(component_id))

    def plans_of(self, component_id: str) -> list[dict[str, Any]]:
        return _every(lambda cursor: self.operations.plans_of(component_id, cursor=cursor, limit=500))

    def plan(self, component_id: str, plan_id: str) -> dict[str, Any]:
        return _json(self.operations.plan(component_id, plan_id))

    def speculative_plan(self, descriptor: str) -> dict[str, Any]:
        from service.contract.models import DescriptorKind, ProvisioningRequest
        from service.store.replicas import terraform_who

        self.progress.note("planning (terraform init + plan, nothing is applied)…")
        request = ProvisioningRequest(DescriptorKind.COMPONENT_DESCRIPTOR, descriptor, False)
        return _json(self.operations.speculative_plan(request, f"cli:{terraform_who()}"))

    def drift(
        self, workloads: list[str], data_product: str | None, *, thorough: bool, reconcile: bool, steps: Steps
    ) -> dict[str, Any]:
        from service.operations.drift import report

        def waiting(component_id: str) -> None:
            steps.note(f"waiting for {component_id}: another process is running Terraform on it")

        entries = self.operations.select(workloads, data_product)
        verdicts = self.operations.drift(
            entries, thorough=thorough, reconcile=reconcile, progress=steps.update, waiting=waiting
        )
        return _json(report(verdicts))

    def rebuild(self) -> list[str]:
        return self.parts.rebuilder.rebuild(self.progress.update)


def _json(body: Struct) -> dict[str, Any]:
    """A body as the service's JSON has it: what the remote backend answers too."""
    found: dict[str, Any] = msgspec.to_builtins(body)
    return found


def _every(page: Callable[[str | None], Page[Any]]) -> list[dict[str, Any]]:
    """Every page of a list, in order, as JSON."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        shown = page(cursor)
        found += [_json(item) for item in shown.items]
        if shown.next is None:
            return found
        cursor = shown.next


@contextmanager
def _components(args: argparse.Namespace) -> Iterator[Components]:
    """The service's components for one command: this process holds a lease while it runs
    Terraform, and goes through the same door as the service."""
    from service.wiring import build

    parts = build(settings_for(args.sandbox), kind="cli")
    parts.leases.start()
    try:
        yield parts
    finally:
        parts.door.shutdown()
        parts.leases.stop(drained=True)
        parts.compiler.close()


@contextmanager
def _backend(args: argparse.Namespace, progress: Steps = QUIET) -> Iterator[Target]:
    """Chosen once per command: the service at ``args.url``, or this process's components."""
    if args.url:
        from service.cli.remote import ServiceClient

        client = ServiceClient(args.url, args.token, args.timeout)
        try:
            yield client
        finally:
            client.close()
        return
    with _components(args) as parts:
        yield InProcess(parts, progress)
