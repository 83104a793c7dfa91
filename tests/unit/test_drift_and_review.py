from __future__ import annotations

from service.cli.commands import markdown
from service.contract import bodies
from service.domain import review
from service.domain.deployment import ChangeSummary
from service.domain.drift import Verdict, changes_from_drift, exit_code, verdict_status

BEFORE = {
    "key": "dags/a.py",
    "etag": "old",
    "tags": {"a": "1"},
    "tags_all": {"a": "1"},
    "content_type": "text/x-python",
    "version_id": "",
}


def _drift(address: str, before: dict[str, object], after: dict[str, object] | None, actions: list[str]) -> dict:
    return {"address": address, "change": {"actions": actions, "before": before, "after": after}}


def test_changes_are_named_per_object() -> None:
    plan = {
        "resource_drift": [
            _drift("dag", BEFORE, None, ["delete"]),
            _drift("desc", BEFORE, BEFORE | {"etag": "new", "version_id": "v2"}, ["update"]),
            _drift("other", BEFORE, BEFORE | {"tags": {}, "tags_all": {}, "content_type": "x/y"}, ["update"]),
            _drift("zip", BEFORE | {"source_hash": "abc"}, BEFORE | {"source_hash": "abc", "etag": "x"}, ["update"]),
        ]
    }
    assert changes_from_drift(plan) == [
        {"address": "dag", "key": "dags/a.py", "what": "deleted"},
        {"address": "desc", "key": "dags/a.py", "what": "content", "old": "old", "new": "new", "tracking": "etag"},
        {"address": "other", "key": "dags/a.py", "what": "tags", "old": {"a": "1"}, "new": {}},
        {"address": "other", "key": "dags/a.py", "what": "metadata", "attributes": ["content_type"]},
        # Tracked by source_hash (a packaged DAG, or opaque ETags): only a replace restores it.
        {"address": "zip", "key": "dags/a.py", "what": "content", "old": "old", "new": "x", "tracking": "source_hash"},
    ]


def test_output_only_changes_are_not_drift() -> None:
    assert changes_from_drift({"output_changes": {"dag_etag": {}}, "resource_drift": []}) == []


def test_verdicts_and_exit_codes() -> None:
    deleted = {"key": "a", "what": "deleted"}
    assert verdict_status([], 2) == "in_sync"
    assert verdict_status([deleted], 2) == "drifted"
    assert verdict_status([deleted, {"key": "b", "what": "deleted"}], 2) == "missing"

    def v(status: str) -> Verdict:
        return Verdict("c", status, "fast", "t")

    assert exit_code([v("in_sync")]) == 0
    assert exit_code([v("in_sync"), v("missing")]) == 2
    assert exit_code([v("drifted"), v("error")]) == 1
    assert exit_code([]) == 0


def test_markdown_report() -> None:
    verdict = Verdict("urn:x", "drifted", "terraform", "t", [{"key": "k", "what": "content", "old": "1", "new": "2"}])
    assert "| urn:x | drifted | terraform | k: content (1 → 2) |" in markdown([bodies.verdict(verdict)])


def test_dag_diff_text_and_binary() -> None:
    assert review.dag_diff("k", b"a\n", b"a\n") == ""
    text = review.dag_diff("dags/k.py", b"a = 1\n", b"a = 2\n")
    assert "--- a/dags/k.py" in text
    assert "-a = 1\n+a = 2\n" in text
    assert review.dag_diff("k", None, b"x\n").startswith("--- /dev/null")
    binary = review.dag_diff("k.zip", b"PK\x03\x04\xff", b"PK\x03\x04\xfe\xfe")
    assert binary.startswith("binary, 5 → 6 bytes, sha256 ")


def _artifact(dag: bytes, after: dict[str, object]) -> review.PlanArtifact:
    plan = {"resource_changes": [{"address": "a", "change": {"actions": ["update"], "after": after}}]}
    return review.build("speculative", ChangeSummary(change=1), "", plan, "k", dag)


def test_review_difference() -> None:
    reviewed = _artifact(b"x", {"content": "x"})
    assert review.difference(reviewed, _artifact(b"x", {"content": "x"})) is None
    assert "the DAG changed" in str(review.difference(reviewed, _artifact(b"y", {"content": "x"})))
    assert "planned values differ" in str(review.difference(reviewed, _artifact(b"x", {"content": "z"})))


def test_no_op_changes_do_not_count() -> None:
    plan = {
        "resource_changes": [
            {"address": "a", "change": {"actions": ["no-op"], "after": {}}},
            {"address": "b", "change": {"actions": ["create"], "after": {"k": 1}}},
        ]
    }
    assert review.resource_changes(plan) == [{"address": "b", "actions": ["create"], "after": {"k": 1}}]


def test_dag_diff_from_the_plan_itself() -> None:
    def plan(address: str, before: dict[str, object] | None, after: dict[str, object] | None) -> dict:
        return {"resource_changes": [{"address": address, "change": {"before": before, "after": after}}]}

    text = "module.workload.aws_s3_object.dag_text[0]"
    assert "+b = 2" in review.dag_diff_from_plan(plan(text, {"content": "a = 1\n"}, {"content": "b = 2\n"}), "k")
    assert review.dag_diff_from_plan(plan(text, None, {"content": "x\n"}), "k").startswith("--- /dev/null")
    binary = "module.workload.aws_s3_object.dag_binary[0]"
    assert review.dag_diff_from_plan(plan(binary, {"source_hash": "a"}, {"source_hash": "b"}), "k") == (
        "binary, md5 a → b\n"
    )
    assert review.dag_diff_from_plan({"resource_changes": []}, "k") == ""
