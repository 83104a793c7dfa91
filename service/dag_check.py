"""Would Airflow be able to load this DAG file? Checked without ever running it.

- A ``.py`` DAG must compile (Python's own parser and compiler, as Airflow's import would run them):
  the problem names the line and the compiler's message.
- A ``.zip`` DAG must be a zip archive with at least one ``.py`` at its root (what Airflow's
  packaged-DAG loader looks for); only its central directory is read, nothing is inflated.

Compiling runs in a short-lived child interpreter with a memory cap and a deadline, so a hostile
file (deeply nested expressions, huge literals) can cost at most that, and nothing of it ever runs:
``compile()`` builds a code object and stops there.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

from service.errors import Problem
from service.workload import Workload

COMPILE_TIMEOUT_S = 20.0
COMPILE_MEMORY_BYTES = 1024 * 1024 * 1024

_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
source = sys.stdin.buffer.read()
try:
    compile(source, sys.argv[1], "exec", dont_inherit=True)
except SyntaxError as exc:
    print(json.dumps({{"line": exc.lineno, "message": exc.msg}}))
except (ValueError, MemoryError, RecursionError) as exc:
    print(json.dumps({{"line": None, "message": type(exc).__name__ + ": " + str(exc)}}))
else:
    print(json.dumps({{}}))
"""


def compile_error(name: str, source: bytes) -> tuple[int | None, str] | None:
    """(line, message) of the first compile error, or None when the file compiles."""
    try:
        done = subprocess.run(  # noqa: S603 - our interpreter, a fixed script; the DAG is data on stdin
            [sys.executable, "-I", "-c", _CHILD.format(limit=COMPILE_MEMORY_BYTES), name],
            input=source,
            capture_output=True,
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"compiling took longer than {COMPILE_TIMEOUT_S:g} s"
    try:
        answer = json.loads(done.stdout or b"null")
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        return None, f"the compiler stopped without an answer (exit {done.returncode}): too large or too deep"
    if "message" not in answer:
        return None
    return answer.get("line"), str(answer["message"])


def zip_problem(data: bytes) -> str | None:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return "is not a zip archive"
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, ValueError) as exc:
        return f"is not a readable zip archive ({exc})"
    if not any(n.endswith(".py") and "/" not in n for n in names):
        return "has no .py file at its root (Airflow loads a packaged DAG's top-level modules)"
    return None


def problems(workload: Workload, data: bytes) -> list[Problem]:
    """Why Airflow could not load the staged DAG; empty when it can."""
    field = f"{workload.field}.specific.dagName"
    where = f"the staged DAG s3://{workload.bucket}/{workload.staged_key}"
    if workload.dag_kind == "binary":
        why = zip_problem(data)
        return (
            [Problem(field, f"{where} {why}", "Package the DAG as a zip with its .py files at the root.")]
            if why
            else []
        )
    found = compile_error(workload.dag_name, data)
    if found is None:
        return []
    line, message = found
    at = f" (line {line})" if line else ""
    return [Problem(field, f"{where} does not compile{at}: {message}", "Fix the DAG so that Python can compile it.")]
