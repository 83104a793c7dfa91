"""Test doubles for unit tests of the operations (end-to-end tests use the real parts): an S3 and an
IAM in memory with the adapters' interfaces, and a Terraform that plans and applies the two root
modules this service renders (the workload's ``aws_s3_object``s, a principal's IAM inline policy)
against them, speaking Terraform's ``-json`` UI so the real runner's parsing is what reads it.

The fake Terraform is deliberately small: a plan compares the configuration's values with the state
and counts adds, changes (in place), replacements and removals; a refresh-only plan compares the
state with the objects in the fake S3; ``-replace`` forces a replacement. Enough to tell each
operation's logic apart, not a second provider."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.aws.mwaa import RestAnswer
from service.domain.deployment import ObjectFingerprint
from service.domain.iam_quota import characters
from service.domain.principals import Principal
from service.engine.results import CommandResult
from service.engine.runner import Cancel, TerraformRunner

_WORKLOAD = "module.workload"
_POLICY_TYPES = {"user": "aws_iam_user_policy", "group": "aws_iam_group_policy", "role": "aws_iam_role_policy"}


@dataclass
class StoredObject:
    body: bytes
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return hashlib.md5(self.body).hexdigest()  # noqa: S324 - S3's etag


class FakeS3:
    """The S3 adapter's interface over a dict: ``(bucket, key) -> StoredObject``."""

    def __init__(self, buckets: tuple[str, ...] = ("mwaa-bucket",)) -> None:
        self.buckets = set(buckets)
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.endpoint = "fake"
        self.calls: list[str] = []

    def put(self, bucket: str, key: str, body: bytes, tags: dict[str, str] | None = None) -> None:
        self.objects[(bucket, key)] = StoredObject(body, dict(tags or {}))

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self.buckets

    def default_encryption(self, bucket: str) -> str | None:
        return "AES256"

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        self.calls.append(f"head {key}")
        found = self.objects.get((bucket, key))
        return None if found is None else {"ETag": f'"{found.etag}"', "ContentLength": len(found.body)}

    def get(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        self.calls.append(f"get {key}")
        found = self.objects.get((bucket, key))
        return None if found is None else found.body

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(k for b, k in self.objects if b == bucket and k.startswith(prefix))

    def delete(self, bucket: str, key: str) -> None:
        self.objects.pop((bucket, key), None)

    def tags(self, bucket: str, key: str) -> dict[str, str] | None:
        found = self.objects.get((bucket, key))
        return None if found is None else dict(found.tags)

    def start_fingerprints(
        self, bucket: str, keys: list[str], pool: Executor, dispatch: object = None
    ) -> Callable[[], dict[str, ObjectFingerprint | None]]:
        # Read now, as the real reads are put in flight now: what changes afterwards is not seen.
        found: dict[str, ObjectFingerprint | None] = {}
        for key in keys:
            stored = self.objects.get((bucket, key))
            found[key] = (
                None if stored is None else ObjectFingerprint(stored.etag, (), tuple(sorted(stored.tags.items())))
            )
        return lambda: dict(found)


class FakeMwaa:
    """The MWAA adapter's interface (GetEnvironment, InvokeRestApi) over a pretend Airflow that parses
    the bucket's ``dags/`` files of :class:`FakeS3` when asked, the way its DAG processor would: a file
    that imports ``not_installed_pkg`` is an import error, any other ``.py`` file a DAG named after it.
    ``parse_after`` asks pass before it parses anything (a slow sync); for ``stale_parses`` parses a
    changed file is parsed again as it was before, stamped now (MWAA's sync lagging behind the apply);
    ``sources_missing`` answers 404 to every ``/dagSources``; ``unreachable`` makes every InvokeRestApi
    fail as a network error would. Airflow itself is faked only here, in unit tests."""

    def __init__(self, s3: FakeS3, bucket: str = "mwaa-bucket", version: str = "3.0.6") -> None:
        self.s3, self.bucket, self.version = s3, bucket, version
        self.name = "env"
        self.parse_after = 0
        self.stale_parses = 0
        self.sources_missing = False
        self.unreachable = False
        self.asked: list[tuple[str, dict[str, str]]] = []
        self._parsed: dict[str, tuple[bytes, str]] = {}

    def describe(self) -> dict[str, Any]:
        return {"AirflowVersion": self.version, "DagS3Path": "dags", "WebserverUrl": "airflow.example"}

    def invoke_rest_api(self, path: str, query: dict[str, str]) -> RestAnswer:
        from service.domain.airflow_view import check_path
        from service.errors import AirflowUnanswered

        check_path(path)
        self.asked.append((path, dict(query)))
        if self.unreachable:
            raise AirflowUnanswered(f"InvokeRestApi GET {path} on env: Connect timeout")
        if len(self.asked) > self.parse_after:
            self._parse()
        if path == "/dags":
            return RestAnswer(200, {"dags": self._dags(query.get("dag_id_pattern", ""))})
        if path == "/importErrors":
            return RestAnswer(200, {"import_errors": self._errors()})
        if path.startswith("/dagSources/") and not self.sources_missing:
            for name, (body, _) in self._parsed.items():
                if name.removesuffix(".py") == path.removeprefix("/dagSources/") and b"not_installed_pkg" not in body:
                    return RestAnswer(200, {"dag_id": name.removesuffix(".py"), "content": body.decode()})
        return RestAnswer(404, {"detail": "Not Found"})

    def _parse(self) -> None:
        now = datetime.now(UTC).isoformat()
        objects = self.s3.objects.items()
        files = {k.removeprefix("dags/"): o.body for (b, k), o in objects if b == self.bucket and k.startswith("dags/")}
        files = {f: body for f, body in files.items() if f.endswith(".py") and not f.endswith("_descriptor.yaml")}
        for gone in set(self._parsed) - set(files):
            del self._parsed[gone]
        for name, body in files.items():
            if name in self._parsed and self._parsed[name][0] != body and self.stale_parses > 0:
                self.stale_parses -= 1
                self._parsed[name] = (self._parsed[name][0], now)
            elif name not in self._parsed or self._parsed[name][0] != body:
                self._parsed[name] = (body, now)

    def _dags(self, pattern: str) -> list[dict[str, Any]]:
        return [
            {
                "dag_id": name.removesuffix(".py"),
                "fileloc": f"/usr/local/airflow/dags/{name}",
                "is_paused": True,
                "last_parsed_time": at,
                "next_dagrun_logical_date": "2026-12-06T05:05:00+00:00",
            }
            for name, (body, at) in self._parsed.items()
            if b"not_installed_pkg" not in body and pattern in name
        ]

    def _errors(self) -> list[dict[str, Any]]:
        trace = (
            'Traceback (most recent call last):\n  File "/usr/local/airflow/dags/{}", line 1\n'
            "ModuleNotFoundError: No module named 'not_installed_pkg'"
        )
        return [
            {"filename": name, "timestamp": at, "stack_trace": trace.format(name)}
            for name, (body, at) in self._parsed.items()
            if b"not_installed_pkg" in body
        ]


class FakeIam:
    """The IAM adapter's interface: principals that exist, and their inline policies."""

    def __init__(self, principals: tuple[Principal, ...] = (), account: str = "123456789012") -> None:
        self.principals = set(principals)
        self.policies: dict[tuple[Principal, str], str] = {}
        self._account = account

    def exists(self, principal: Principal) -> bool:
        return principal in self.principals

    def inline_policies(self, principal: Principal) -> dict[str, int]:
        return {name: characters(doc) for (who, name), doc in self.policies.items() if who == principal}

    def account(self) -> str:
        return self._account


class FakeTerraform(TerraformRunner):
    """Plans and applies against :class:`FakeS3` and :class:`FakeIam`, with local states only. A test
    may hold a command at a phase: ``hold(\"apply\")`` makes the next apply wait until ``release``
    (or until its ``cancel`` is set, which stops it as the real runner would)."""

    def __init__(self, s3: FakeS3, iam: FakeIam | None = None) -> None:
        super().__init__({}, timeout_s=60)
        self.s3 = s3
        self.iam = iam or FakeIam()
        self.commands: list[str] = []
        self._held: dict[str, threading.Event] = {}
        self.reached: dict[str, threading.Event] = {}

    def hold(self, command: str) -> None:
        self._held[command] = threading.Event()
        self.reached[command] = threading.Event()

    def release(self, command: str) -> None:
        self._held.pop(command).set()

    def run(self, workdir: Path, argv: list[str], cancel: Cancel | None = None) -> CommandResult:
        self.commands.append(argv[0] if argv[0] != "state" else f"state {argv[1]}")
        held = self._held.get(argv[0])
        if held is not None:
            self.reached[argv[0]].set()
            while not held.wait(0.05):
                if cancel is not None and cancel.is_set():
                    from service.errors import LockLost

                    raise LockLost(f"terraform {argv[0]} was stopped: the workload's lock was lost ({cancel.reason})")
        verb = {"init": self._init, "plan": self._plan, "apply": self._apply, "show": self._show, "state": self._state}
        return verb[argv[0]](workdir, argv)

    # -- the state --------------------------------------------------------------------------------

    @staticmethod
    def _state_path(workdir: Path) -> Path:
        return Path(json.loads((workdir / "backend.json").read_text())["path"])

    def _read_state(self, workdir: Path) -> dict[str, dict[str, Any]]:
        """address -> attributes."""
        path = self._state_path(workdir)
        if not path.exists() or not path.read_text().strip():
            return {}
        found = {}
        for resource in json.loads(path.read_text()).get("resources", []):
            for instance in resource["instances"]:
                found[_address(resource, instance)] = instance["attributes"]
        return found

    def _write_state(self, workdir: Path, resources: dict[str, dict[str, Any]]) -> None:
        listed = []
        for address, attributes in sorted(resources.items()):
            module, _, rest = address.rpartition(".aws_") if address.startswith(_WORKLOAD) else ("", "", address)
            kind, _, name_and_key = (("aws_" + rest) if module else rest).partition(".")
            name, _, key = name_and_key.partition("[")
            instance: dict[str, Any] = {"attributes": attributes}
            if key.startswith('"'):
                instance["index_key"] = key.rstrip("]").strip('"')
            entry = {"mode": "managed", "type": kind, "name": name, "instances": [instance]}
            if module:
                entry["module"] = module
            listed.append(entry)
        path = self._state_path(workdir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"version": 4, "resources": listed}))

    # -- the configuration ------------------------------------------------------------------------

    def _desired(self, workdir: Path) -> dict[str, dict[str, Any]]:
        tfvars = json.loads((workdir / "terraform.tfvars.json").read_text())
        if "grants" in tfvars:
            return {
                f'{_POLICY_TYPES[g["kind"]]}.grant["{key}"]': {
                    "kind": g["kind"],
                    "principal": g["principal"],
                    "name": g["name"],
                    "policy": g["policy"],
                }
                for key, g in tfvars["grants"].items()
            }
        spec = tfvars["workload"]
        text = spec["dag_kind"] == "text"
        dag = spec["dag_content"].encode() if text else (workdir / spec["dag_source"]).read_bytes()
        desired = {
            f"{_WORKLOAD}.aws_s3_object.{'dag_text' if text else 'dag_binary'}[0]": _object(
                spec["bucket"], spec["dag_key"], dag, spec["tags"], text, spec["opaque_etags"] or not text
            ),
            f"{_WORKLOAD}.aws_s3_object.descriptor[0]": _object(
                spec["bucket"],
                spec["descriptor_key"],
                spec["descriptor_content"].encode(),
                spec["tags"],
                True,
                spec["opaque_etags"],
            ),
        }
        return desired

    # -- commands ---------------------------------------------------------------------------------

    def _init(self, workdir: Path, argv: list[str]) -> CommandResult:
        (workdir / ".terraform").mkdir(exist_ok=True)
        return CommandResult(tuple(argv), 0, "", "")

    def _plan(self, workdir: Path, argv: list[str]) -> CommandResult:
        out = next(a.removeprefix("-out=") for a in argv if a.startswith("-out="))
        current = self._read_state(workdir)
        if "-refresh-only" in argv:
            drift = self._drift(current)
            (workdir / out).write_text(json.dumps({"refresh": True, "drift": drift}))
            return _plan_result(argv, {}, bool(drift))
        current = self._refreshed(current)
        desired = {} if "-destroy" in argv else self._desired(workdir)
        replace = {a.removeprefix("-replace=") for a in argv if a.startswith("-replace=")}
        adopt = json.loads((workdir / "terraform.tfvars.json").read_text()).get("adopt", {})
        changes: list[dict[str, Any]] = []
        for address in sorted(set(current) | set(desired)):
            before, after = current.get(address), desired.get(address)
            name = address.rsplit(".", 1)[-1].split("[")[0]
            if before is None and after is not None and name in adopt:
                imported = self._imported(after)
                if imported == after:
                    changes.append({"address": address, "actions": ["no-op"], "importing": True})
                else:
                    changes.append({"address": address, "actions": ["update"], "importing": True})
                continue
            actions = _actions(before, after, address in replace)
            changes.append({"address": address, "actions": actions, "before": before, "after": after})
        plan = {"refresh": False, "changes": changes, "desired": desired}
        (workdir / out).write_text(json.dumps(plan))
        return _plan_result(
            argv, _summary(changes), any(c["actions"] != ["no-op"] or c.get("importing") for c in changes)
        )

    def _refreshed(self, current: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """What a plan's refresh reads: an object gone leaves the state, a changed one shows its etag
        and tags as they are now."""
        found = {}
        for address, before in current.items():
            if "bucket" not in before:
                found[address] = before
                continue
            stored = self.s3.objects.get((before["bucket"], before["key"]))
            if stored is not None:
                tags = dict(stored.tags)
                found[address] = dict(before, etag=stored.etag, body_hex=stored.body.hex(), tags=tags, tags_all=tags)
        return found

    def _imported(self, after: dict[str, Any]) -> dict[str, Any]:
        stored = self.s3.objects.get((after["bucket"], after["key"]))
        if stored is None:
            return {}
        return _object(
            after["bucket"], after["key"], stored.body, stored.tags, "content" in after, "source_hash" in after
        )

    def _drift(self, current: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        drift = []
        for address, before in current.items():
            if "bucket" not in before:
                continue
            stored = self.s3.objects.get((before["bucket"], before["key"]))
            if stored is None:
                drift.append({"address": address, "change": {"actions": ["delete"], "before": before, "after": None}})
                continue
            after = dict(before, etag=stored.etag, tags=dict(stored.tags), tags_all=dict(stored.tags))
            if after != before:
                drift.append({"address": address, "change": {"actions": ["update"], "before": before, "after": after}})
        return drift

    def _apply(self, workdir: Path, argv: list[str]) -> CommandResult:
        plan = json.loads((workdir / argv[-1]).read_text())
        state = self._read_state(workdir)
        for change in plan["changes"]:
            address, actions = change["address"], change["actions"]
            if "delete" in actions and change.get("before") is not None:
                self._remove(change["before"])
                state.pop(address, None)
            if actions != ["delete"] and address in plan["desired"]:
                after = plan["desired"][address]
                self._write(after)
                state[address] = after
        self._write_state(workdir, state)
        lines = [json.dumps({"type": "change_summary", "changes": _summary(plan["changes"]) | {"operation": "apply"}})]
        return CommandResult(tuple(argv), 0, "\n".join(lines), "")

    def _write(self, after: dict[str, Any]) -> None:
        if "policy" in after:
            principal = Principal(after["kind"], after["principal"])  # type: ignore[arg-type]
            self.iam.policies[(principal, after["name"])] = after["policy"]
            return
        self.s3.put(after["bucket"], after["key"], bytes.fromhex(after["body_hex"]), after["tags"])

    def _remove(self, before: dict[str, Any]) -> None:
        if "policy" in before:
            principal = Principal(before["kind"], before["principal"])  # type: ignore[arg-type]
            self.iam.policies.pop((principal, before["name"]), None)
            return
        self.s3.delete(before["bucket"], before["key"])

    def _show(self, workdir: Path, argv: list[str]) -> CommandResult:
        plan = json.loads((workdir / argv[-1]).read_text())
        if "-json" not in argv:
            return CommandResult(tuple(argv), 0, f"fake plan: {_summary(plan.get('changes', []))}\n", "")
        shown: dict[str, Any] = {"resource_drift": plan.get("drift", [])}
        shown["resource_changes"] = [
            {
                "address": c["address"],
                "change": {"actions": c["actions"], "before": c.get("before"), "after": c.get("after")},
            }
            for c in plan.get("changes", [])
        ]
        return CommandResult(tuple(argv), 0, json.dumps(shown), "")

    def _state(self, workdir: Path, argv: list[str]) -> CommandResult:
        state = self._read_state(workdir)
        if argv[1] == "list":
            return CommandResult(tuple(argv), 0, "\n".join(sorted(state)), "")
        for address in (a for a in argv[2:] if not a.startswith("-")):
            state.pop(address, None)
        self._write_state(workdir, state)
        return CommandResult(tuple(argv), 0, "", "")


def _object(bucket: str, key: str, body: bytes, tags: dict[str, str], text: bool, opaque: bool) -> dict[str, Any]:
    """An ``aws_s3_object``'s attributes as the state keeps them (``body_hex``: the fake's own record)."""
    digest = hashlib.md5(body).hexdigest()  # noqa: S324 - S3's etag
    attributes: dict[str, Any] = {"bucket": bucket, "key": key, "tags": dict(tags), "tags_all": dict(tags)}
    attributes["etag"] = digest
    attributes["body_hex"] = body.hex()
    if text:
        attributes["content"] = body.decode()
    if opaque:
        attributes["source_hash"] = digest
    return attributes


def _actions(before: dict[str, Any] | None, after: dict[str, Any] | None, replace: bool) -> list[str]:
    if before is None:
        return ["create"]
    if after is None:
        return ["delete"]
    if replace or before.get("key") != after.get("key") or before.get("bucket") != after.get("bucket"):
        return ["delete", "create"]
    return ["no-op"] if before == after else ["update"]


def _summary(changes: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"add": 0, "change": 0, "remove": 0, "import": 0}
    for change in changes:
        actions = change["actions"]
        counts["import"] += 1 if change.get("importing") else 0
        counts["add"] += "create" in actions
        counts["change"] += "update" in actions
        counts["remove"] += "delete" in actions
    return counts


def _plan_result(argv: list[str], counts: dict[str, int], changes: bool) -> CommandResult:
    line = json.dumps({"type": "change_summary", "changes": {"add": 0, "change": 0, "remove": 0} | counts})
    return CommandResult(tuple(argv), 2 if changes else 0, line, "")


def _address(resource: dict[str, Any], instance: dict[str, Any]) -> str:
    base = f"{resource['type']}.{resource['name']}"
    if "module" in resource:
        base = f"{resource['module']}.{base}"
    if "index_key" in instance:
        return f'{base}["{instance["index_key"]}"]'
    return f"{base}[0]" if "module" in resource else base
