"""What the running Airflow says of a deployed file (``service.domain.airflow_view``): the API by
version, requests within InvokeRestApi's limits, and the verdict at each edge of "after the apply"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.domain import airflow_view as av

APPLIED = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)
FILE = "finance_invoices_1_load.py"


def _dag(parsed: datetime | None, fileloc: str = f"/usr/local/airflow/dags/{FILE}", dag_id: str = "x") -> Any:
    return {
        "dags": [
            {
                "dag_id": dag_id,
                "fileloc": fileloc,
                "is_paused": False,
                "last_parsed_time": parsed.isoformat().replace("+00:00", "Z") if parsed else None,
                "next_dagrun_logical_date": "2026-12-06T05:05:00Z",
            }
        ]
    }


def _error(at: datetime, filename: str = FILE) -> Any:
    trace = "\n".join(f"line {i}" for i in range(30)) + "\nModuleNotFoundError: No module named 'nope'"
    return {"import_errors": [{"filename": filename, "timestamp": at.isoformat(), "stack_trace": trace}]}


NONE: Any = {"import_errors": []}


@pytest.mark.parametrize(
    ("version", "major"),
    [("2.4.3", 2), ("2.10.3", 2), ("2.11.0", 2), ("3.0.6", 3), ("3.1.8", 3), (" 3.0.6 ", 3)],
)
def test_the_api_follows_the_airflow_version(version: str, major: int) -> None:
    api = av.api_for(version)
    assert (api.major, api.name) == (major, "v1" if major == 2 else "v2")


@pytest.mark.parametrize("version", ["2.4.2", "2.2.2", "1.10.12", "4.0.0", "", "latest", "3"])
def test_versions_invoke_rest_api_cannot_ask_are_refused(version: str) -> None:
    with pytest.raises(av.UnsupportedAirflow):
        av.api_for(version)


def test_paths_stay_within_64_characters_whatever_the_dag_id() -> None:
    request = av.dags_request("d" * 250)
    assert av.check_path(request.path) == "/dags"
    assert request.query["dag_id_pattern"] == "d" * 250
    assert av.check_path("/" + "x" * 63) == "/" + "x" * 63
    with pytest.raises(ValueError, match="1 to 64"):
        av.check_path("/" + "x" * 64)
    with pytest.raises(ValueError, match="1 to 64"):
        av.check_path("")


def test_import_errors_are_filtered_by_file_only_where_the_api_can() -> None:
    assert "filename_pattern" not in av.import_errors_request(av.api_for("2.10.3"), FILE).query
    assert av.import_errors_request(av.api_for("3.0.6"), FILE).query["filename_pattern"] == FILE


@pytest.mark.parametrize(
    ("key", "folder", "relative"),
    [
        ("dags/a.py", "dags", "a.py"),
        ("dags/sub/a.py", "dags/", "sub/a.py"),
        ("dags/sub/a.py", None, "a.py"),
        ("other/a.py", "dags", "a.py"),
        ("dagsx/a.py", "dags", "a.py"),
    ],
)
def test_the_file_is_named_relative_to_the_dag_folder(key: str, folder: str | None, relative: str) -> None:
    assert av.relative_file(key, folder) == relative


def test_parsed_at_or_after_the_apply_is_loaded_before_it_is_pending() -> None:
    assert isinstance(av.judge(_dag(APPLIED), NONE, av.Expected("x", FILE, APPLIED)), av.Loaded)
    pending = av.judge(_dag(APPLIED - timedelta(microseconds=1)), NONE, av.Expected("x", FILE, APPLIED))
    assert isinstance(pending, av.Pending)
    assert "not parsed" in pending.reason
    assert isinstance(av.judge(_dag(None), NONE, av.Expected("x", FILE, APPLIED)), av.Pending)
    # Nothing applied now: the DAG as it stands.
    assert isinstance(av.judge(_dag(APPLIED - timedelta(days=1)), NONE, av.Expected("x", FILE, None)), av.Loaded)


def test_only_our_dag_from_our_file_counts() -> None:
    assert isinstance(av.judge(_dag(APPLIED, dag_id="y"), NONE, av.Expected("x", FILE, APPLIED)), av.Pending)
    elsewhere = _dag(APPLIED, fileloc="/usr/local/airflow/dags/other_" + FILE)
    assert isinstance(av.judge(elsewhere, NONE, av.Expected("x", FILE, APPLIED)), av.Pending)
    relative = _dag(APPLIED, fileloc=FILE)  # Airflow 3 may give it relative to the bundle
    assert isinstance(av.judge(relative, NONE, av.Expected("x", FILE, APPLIED)), av.Loaded)


def test_an_import_error_after_the_apply_wins_with_the_tail_of_its_trace() -> None:
    verdict = av.judge(_dag(APPLIED), _error(APPLIED), av.Expected("x", FILE, APPLIED))
    assert isinstance(verdict, av.Broken)
    lines = verdict.error.splitlines()
    assert lines[-1] == "ModuleNotFoundError: No module named 'nope'"
    assert len(lines) == av.TRACE_TAIL_LINES
    assert lines[0] == "line 19"


def test_an_import_error_before_the_apply_or_of_another_file_does_not_count() -> None:
    old = _error(APPLIED - timedelta(seconds=1))
    assert isinstance(av.judge(_dag(APPLIED), old, av.Expected("x", FILE, APPLIED)), av.Loaded)
    assert isinstance(av.judge(_dag(None), old, av.Expected("x", FILE, None)), av.Broken)
    other = _error(APPLIED, filename="other_" + FILE)
    assert isinstance(av.judge(_dag(APPLIED), other, av.Expected("x", FILE, APPLIED)), av.Loaded)


def test_a_huge_trace_is_cut_to_its_end() -> None:
    broken = av.import_error(
        {"import_errors": [{"filename": FILE, "timestamp": APPLIED.isoformat(), "stack_trace": "x" * 100_000}]},
        FILE,
        APPLIED,
    )
    assert broken is not None
    assert len(broken.error) == av.TRACE_TAIL_CHARS


@pytest.mark.parametrize("body", [None, [], {"dags": None}, {"dags": [1, {"dag_id": 3}]}, "text"])
def test_malformed_answers_list_nothing(body: Any) -> None:
    assert av.listed_dags(body) == []
    assert av.import_error(body, FILE, None) is None
    assert av.gone(body, "x", FILE)


def test_airflow_2_names_the_next_run_next_dagrun() -> None:
    [dag] = av.listed_dags({"dags": [{"dag_id": "x", "fileloc": FILE, "next_dagrun": "2026-12-06T00:00:00+00:00"}]})
    assert dag.next_run == "2026-12-06T00:00:00+00:00"
    assert not av.gone({"dags": [{"dag_id": "x", "fileloc": FILE}]}, "x", FILE)


def test_a_drift_run_pages_through_every_import_error_newest_first() -> None:
    page = av.import_errors_page(200)
    assert (page.path, page.query) == ("/importErrors", {"order_by": "-timestamp", "limit": "100", "offset": "200"})


OURS = "from airflow import DAG\r\n\r\ndag = DAG('x')\r\n"
"""The deployed bytes, CRLF line ends: Airflow reads the file in text mode (universal newlines)."""


def _source(content: str) -> Any:
    return {"dag_id": "x", "content": content, "version_number": 2}


def test_with_the_source_comparable_only_the_deployed_text_is_loaded_whenever_parsed() -> None:
    text = av.deployed_text(OURS.encode())
    assert text is not None
    expected = av.Expected("x", FILE, APPLIED, text)
    # The old file parsed again after the apply (MWAA's sync not yet done): not ours, whatever the time.
    stale = av.judge(_dag(APPLIED + timedelta(seconds=5)), NONE, expected, _source("dag = DAG('x')  # v1\n"))
    assert isinstance(stale, av.Pending)
    assert "earlier version" in stale.reason
    assert isinstance(av.judge(_dag(APPLIED), NONE, expected, _source(OURS.replace("\r\n", "\n"))), av.Loaded)
    # Proof needs no parse time: the source is ours (an unchanged provision checked again).
    assert isinstance(av.judge(_dag(None), NONE, expected, _source(OURS.replace("\r\n", "\n"))), av.Loaded)
    missing = av.judge(_dag(APPLIED), NONE, expected, None)  # no source given: not proof
    assert isinstance(missing, av.Pending)
    assert "gives no source" in missing.reason
    assert isinstance(av.judge(_dag(APPLIED), NONE, expected, {"detail": "Not Found"}), av.Pending)


def test_an_import_error_repeating_the_one_before_the_apply_is_not_yet_ours() -> None:
    before = av.import_error(_error(APPLIED - timedelta(minutes=1)), FILE, None)
    assert before is not None
    again = av.judge(
        _dag(None), _error(APPLIED + timedelta(seconds=3)), av.Expected("x", FILE, APPLIED, None, before.error)
    )
    assert isinstance(again, av.Pending)
    assert "before the apply" in again.reason
    assert "ModuleNotFoundError" in again.reason
    other = _error(APPLIED + timedelta(seconds=3))
    other["import_errors"][0]["stack_trace"] += "\nSyntaxError: invalid syntax"
    assert isinstance(av.judge(_dag(None), other, av.Expected("x", FILE, APPLIED, None, before.error)), av.Broken)
    # With nothing applied now, what Airflow says of the file as it stands is the answer.
    assert isinstance(
        av.judge(_dag(None), _error(APPLIED), av.Expected("x", FILE, None, None, before.error)), av.Broken
    )


def test_a_loaded_source_that_is_ours_wins_over_a_stale_import_error() -> None:
    text = av.deployed_text(OURS.encode())
    expected = av.Expected("x", FILE, APPLIED, text, None)
    verdict = av.judge(_dag(APPLIED), _error(APPLIED), expected, _source(OURS))
    assert isinstance(verdict, av.Loaded)


@pytest.mark.parametrize(
    ("version", "dag_id", "file_name", "asked"),
    [
        ("3.1.8", "x", FILE, "/dagSources/x"),
        ("3.0.6", "a" * 52, "a.py", "/dagSources/" + "a" * 52),
        ("3.0.6", "a" * 53, "a.py", None),  # the path would pass InvokeRestApi's 64 characters
        ("2.10.3", "x", FILE, None),  # Airflow 2 names sources by a signed token, too long for the path
        ("3.0.6", "x", "x.zip", None),  # a zipped DAG's source is its inner module, not our bytes
        ("3.0.6", "a b", "a.py", None),  # would need escaping in the path
    ],
)
def test_the_parsed_source_is_asked_only_where_it_can_be_compared(
    version: str, dag_id: str, file_name: str, asked: str | None
) -> None:
    request = av.source_request(av.api_for(version), dag_id, file_name)
    assert (request.path if request else None) == asked
    if request is not None:
        assert av.check_path(request.path) == asked


def test_text_that_is_not_utf8_cannot_be_compared() -> None:
    assert av.deployed_text(b"\xff\xfe# latin\n") is None
    assert av.deployed_text(b"a\rb\r\nc") == "a\nb\nc"
