"""Domain: what the running Airflow says of a deployed DAG file (pure) — which REST API to ask, by the
environment's ``AirflowVersion``; the requests, within MWAA ``InvokeRestApi``'s limits; and the
verdict read from Airflow's answers: loaded after our apply, failed to import after it, or not yet.

Airflow 2 (REST API v1) and Airflow 3 (v2) list DAGs and import errors with the same paths relative
to the API root, which MWAA chooses for the environment's version: ``/dags`` and ``/importErrors``.
A DAG is asked for by ``dag_id_pattern`` (a query parameter, not in the 64-character path, so a long
DAG id needs no care) and matched exactly; an import error by its file name, which Airflow 3 gives
relative to the DAG folder and Airflow 2 as an absolute path on the worker.

"Parsed after the apply" is not proof that Airflow parsed *our* bytes: MWAA copies the bucket to its
workers with a delay, so Airflow may parse the previous file again after the apply ended. Airflow 3
keeps the source it parsed (``/dagSources/{dag_id}``): where that can be asked, the DAG is loaded only
when its source is the deployed text. Airflow 2 names a source by a signed file token longer than the
64-character Path allows, and a zipped DAG's source is its inner module, so there the parse time is
all there is. An import error is known to be ours only when it is not the one Airflow reported for
the file just before the apply (that one may be the old file, parsed again before the sync)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

PATH_MAX = 64
"""InvokeRestApi's ``Path``: 1 to 64 characters."""
TRACE_TAIL_LINES = 12
TRACE_TAIL_CHARS = 4000
_LIST_LIMIT = "100"


class UnsupportedAirflow(ValueError):
    """An ``AirflowVersion`` this check cannot ask (InvokeRestApi needs Airflow 2.4.3 or later)."""


@dataclass(frozen=True)
class Api:
    major: int
    """2: REST API v1; 3: REST API v2."""
    version: str

    @property
    def name(self) -> str:
        return "v1" if self.major == 2 else "v2"


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]


def api_for(airflow_version: str) -> Api:
    """The REST API of an environment, from GetEnvironment's ``AirflowVersion`` (e.g. ``2.10.3``)."""
    parts = airflow_version.strip().split(".")
    try:
        numbers = tuple(int(p) for p in parts[:3])
    except ValueError:
        raise UnsupportedAirflow(f"AirflowVersion {airflow_version!r} is not a version") from None
    if len(numbers) < 2 or numbers < (2, 4, 3) or numbers[0] > 3:
        raise UnsupportedAirflow(
            f"Airflow {airflow_version} cannot be asked through InvokeRestApi (it needs 2.4.3 or later, up to 3.x)"
        )
    return Api(numbers[0], airflow_version.strip())


def dags_request(dag_id: str) -> Request:
    return Request("/dags", {"dag_id_pattern": dag_id, "limit": _LIST_LIMIT})


def import_errors_request(api: Api, file_name: str) -> Request:
    query = {"order_by": "-timestamp", "limit": _LIST_LIMIT}
    if api.major == 3:
        query["filename_pattern"] = file_name
    return Request("/importErrors", query)


def source_request(api: Api, dag_id: str, file_name: str) -> Request | None:
    """Airflow 3's source of the DAG's latest version (the text it parsed); None where it cannot be
    compared: Airflow 2, a zipped DAG, or a DAG id that would lengthen the path past 64 characters
    (or need escaping in it)."""
    path = f"/dagSources/{dag_id}"
    if api.major != 3 or not file_name.endswith(".py") or len(path) > PATH_MAX or quote(dag_id, safe="") != dag_id:
        return None
    return Request(path, {})


def deployed_text(dag: bytes) -> str | None:
    """The deployed DAG as Airflow reads it (UTF-8, universal newlines); None if it is not UTF-8."""
    try:
        return _newlines(dag.decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def same_source(body: Any, text: str) -> bool:
    """Whether a ``/dagSources`` answer is the deployed text."""
    content = body.get("content") if isinstance(body, dict) else None
    return isinstance(content, str) and _newlines(content) == text


def import_errors_page(offset: int, limit: int = 100) -> Request:
    """A page of every import error, newest first (a drift run reads them all, up to a bound)."""
    return Request("/importErrors", {"order_by": "-timestamp", "limit": str(limit), "offset": str(offset)})


def check_path(path: str) -> str:
    """``path`` if InvokeRestApi accepts it; ``ValueError`` otherwise (AWS refuses it; moto would not)."""
    if not 1 <= len(path) <= PATH_MAX:
        raise ValueError(f"an InvokeRestApi Path must be 1 to {PATH_MAX} characters: {path!r}")
    return path


@dataclass(frozen=True)
class AirflowDag:
    """A DAG as Airflow lists it."""

    dag_id: str
    fileloc: str
    is_paused: bool
    next_run: str | None
    last_parsed: datetime | None


@dataclass(frozen=True)
class Loaded:
    dag: AirflowDag
    kind: Literal["loaded"] = "loaded"


@dataclass(frozen=True)
class Broken:
    """Airflow could not import the file: the tail of its stack trace, in its own words."""

    error: str
    at: datetime | None
    kind: Literal["broken"] = "broken"

    @property
    def last_line(self) -> str:
        """The error itself: the stack trace's last line."""
        return (self.error.strip().splitlines()[-1:] or ["(no stack trace)"])[0]


@dataclass(frozen=True)
class Pending:
    reason: str
    kind: Literal["pending"] = "pending"


Verdict = Loaded | Broken | Pending


@dataclass(frozen=True)
class Expected:
    """What the check waits for: DAG ``dag_id`` from ``file_name`` parsed after ``since`` (when the
    apply ended; None: nothing was applied now, the file as it stands)."""

    dag_id: str
    file_name: str
    since: datetime | None
    text: str | None = None
    """The deployed text, where Airflow's parsed source can be compared with it (see ``source_request``)."""
    earlier_error: str | None = None
    """The import error Airflow reported for the file just before the apply (its trace's tail)."""


@dataclass(frozen=True)
class Seen:
    """What the user is told of Airflow after a provision: the version, the DAG as it lists it (when
    loaded), and the finding in one line."""

    version: str | None
    dag: AirflowDag | None
    finding: str


def timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def relative_file(deployed_key: str, dag_s3_path: str | None) -> str:
    """The deployed file as Airflow names it: relative to the environment's DAG folder (GetEnvironment's
    ``DagS3Path``, e.g. ``dags``), else its base name."""
    folder = (dag_s3_path or "").strip("/")
    if folder and deployed_key.startswith(folder + "/"):
        return deployed_key[len(folder) + 1 :]
    return deployed_key.rpartition("/")[2]


def same_file(listed: str, file_name: str) -> bool:
    """Whether Airflow's ``filename``/``fileloc`` (relative, or absolute on the worker) is our file."""
    return listed == file_name or listed.endswith("/" + file_name)


def stack_tail(trace: str) -> str:
    """The end of a stack trace, where the error is: its last lines, bounded in size."""
    tail = "\n".join(trace.rstrip().splitlines()[-TRACE_TAIL_LINES:])
    return tail[-TRACE_TAIL_CHARS:]


def listed_dags(body: Any) -> list[AirflowDag]:
    dags = body.get("dags") if isinstance(body, dict) else None
    found = []
    for dag in dags if isinstance(dags, list) else []:
        if not isinstance(dag, dict) or not isinstance(dag.get("dag_id"), str):
            continue
        next_run = dag.get("next_dagrun_logical_date", dag.get("next_dagrun"))
        found.append(
            AirflowDag(
                dag_id=dag["dag_id"],
                fileloc=str(dag.get("fileloc") or ""),
                is_paused=bool(dag.get("is_paused")),
                next_run=next_run if isinstance(next_run, str) else None,
                last_parsed=timestamp(dag.get("last_parsed_time")),
            )
        )
    return found


def the_dag(body: Any, dag_id: str, file_name: str) -> AirflowDag | None:
    """Our DAG in a ``/dags`` answer: its id, from our file (another file may define the same id)."""
    for dag in listed_dags(body):
        if dag.dag_id == dag_id and same_file(dag.fileloc, file_name):
            return dag
    return None


def import_error(body: Any, file_name: str, since: datetime | None) -> Broken | None:
    """The newest import error of our file recorded at or after ``since`` (None: any)."""
    errors = body.get("import_errors") if isinstance(body, dict) else None
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict) or not same_file(str(error.get("filename") or ""), file_name):
            continue
        at = timestamp(error.get("timestamp"))
        if since is None or (at is not None and at >= since):
            return Broken(stack_tail(str(error.get("stack_trace") or "")), at)
    return None


def judge(dags_body: Any, errors_body: Any, expected: Expected, source_body: Any = None) -> Verdict:
    """Loaded, broken or not yet, of the file we deployed: our DAG whose parsed source is the deployed
    text wins (proof); else an import error recorded after the apply, unless it repeats the one from
    before it; else our DAG parsed after the apply, where the source cannot be compared; else not yet.
    ``source_body``: Airflow's ``/dagSources`` answer for the DAG, if asked."""
    file_name, since = expected.file_name, expected.since
    dag = the_dag(dags_body, expected.dag_id, file_name)
    ours = expected.text is not None and same_source(source_body, expected.text)
    if dag is not None and ours:
        return Loaded(dag)
    broken = import_error(errors_body, file_name, since)
    if broken is not None and (since is None or broken.error != expected.earlier_error):
        return broken
    if broken is not None:
        return Pending(f"Airflow still reports the import error of the file before the apply: {broken.last_line}")
    if dag is None:
        return Pending(f"Airflow does not list DAG {expected.dag_id} from {file_name} yet")
    if expected.text is not None and source_body is None:
        return Pending(f"Airflow lists DAG {expected.dag_id} but gives no source for it yet")
    if expected.text is not None:
        return Pending(f"Airflow has loaded an earlier version of {file_name}, not the deployed one yet")
    if since is not None and (dag.last_parsed is None or dag.last_parsed < since):
        return Pending(f"Airflow has not parsed {file_name} since the apply")
    return Loaded(dag)


def gone(dags_body: Any, dag_id: str, file_name: str) -> bool:
    """Whether Airflow no longer lists our DAG (a removed file's DAG is stale, left out of the list)."""
    return the_dag(dags_body, dag_id, file_name) is None
