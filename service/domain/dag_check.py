"""Would Airflow be able to load this DAG file? Checked without ever running it.

- A ``.py`` DAG must compile (Python's own parser and compiler, as Airflow's import would run them):
  the problem names the line and the compiler's message.
- A ``.zip`` DAG must be a zip archive with at least one ``.py`` at its root (what Airflow's
  packaged-DAG loader looks for); only its central directory is read, nothing is inflated.

Compiling is done by a bounded pool of warm child interpreters (:class:`Compiler`), never on a
request thread: each child is capped in memory, each compile in time, and only ``workers`` run at
once, so a hostile file (deeply nested expressions, huge literals) or a burst of big ones costs at
most that — the other requests keep their threads and their CPU share. Nothing of a DAG ever runs:
``compile()`` builds a code object and stops there. A verdict is remembered by the SHA-256 of the
bytes, so the same file is never compiled twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import queue
import select
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections import OrderedDict
from concurrent.futures import Future

from service.domain.workload import Workload
from service.errors import Overloaded, Problem

log = logging.getLogger("mwaa_sp.dag_check")
COMPILE_TIMEOUT_S = 20.0
COMPILE_MEMORY_BYTES = 1024 * 1024 * 1024
VERDICTS_KEPT = 4096
CompileVerdict = tuple[int | None, str] | None
"""(line, message) of the first compile error, or None when the file compiles."""

# The child: its own interpreter (-I: no site, no environment), capped, compiling requests from
# stdin forever — "<name length><source length>" big-endian, then both — one JSON line per answer.
_CHILD = """
import json, resource, struct, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
while True:
    header = stdin.read(8)
    if len(header) < 8:
        break
    name_size, size = struct.unpack(">II", header)
    name, source = stdin.read(name_size).decode("utf-8", "replace"), stdin.read(size)
    retire = False
    try:
        compile(source, name, "exec", dont_inherit=True)
        answer = {{}}
    except SyntaxError as exc:
        answer = {{"line": exc.lineno, "message": exc.msg}}
    except (ValueError, MemoryError, RecursionError) as exc:
        answer = {{"line": None, "message": type(exc).__name__ + ": " + str(exc)}}
        retire = isinstance(exc, MemoryError | RecursionError)
        answer["retire"] = retire
    source = None
    stdout.write(json.dumps(answer).encode() + b"\\n")
    stdout.flush()
    if retire:
        break
"""


class _Child:
    """One warm interpreter; used by one thread at a time (the pool hands it out)."""

    def __init__(self, memory_bytes: int) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, a fixed script; DAGs are data on stdin
            [sys.executable, "-I", "-c", _CHILD.format(limit=memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.retiring = False

    def alive(self) -> bool:
        return self.proc.poll() is None and not self.retiring

    def compile(self, name: str, source: bytes, timeout_s: float) -> CompileVerdict | str:
        """The verdict, or a str saying why there is none (the child is then unusable, and so is a
        child that ran out of memory or recursion: it exits after answering)."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        encoded = name.encode("utf-8", "replace")[:1024]
        deadline = time.monotonic() + timeout_s
        try:
            self.proc.stdin.write(struct.pack(">II", len(encoded), len(source)) + encoded)
            self.proc.stdin.write(source)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return "the compiler stopped without an answer: too large or too deep"
        answer = b""
        fd = self.proc.stdout.fileno()
        while not answer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return f"compiling took longer than {timeout_s:g} s"
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return "the compiler stopped without an answer: too large or too deep"
                answer += chunk
        try:
            parsed = json.loads(answer)
        except json.JSONDecodeError:
            return "the compiler stopped without an answer: too large or too deep"
        if not isinstance(parsed, dict) or "message" not in parsed:
            return None
        self.retiring = bool(parsed.get("retire"))
        line = parsed.get("line")
        return (line if isinstance(line, int) else None), str(parsed["message"])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class Compiler:
    """``workers`` warm children at most; a compile waits up to ``wait_s`` for one, then the check is
    refused as busy (:class:`Overloaded`, retry later) rather than queueing without bound."""

    def __init__(
        self,
        workers: int = 2,
        *,
        timeout_s: float = COMPILE_TIMEOUT_S,
        memory_bytes: int = COMPILE_MEMORY_BYTES,
        wait_s: float = COMPILE_TIMEOUT_S,
        kept: int = VERDICTS_KEPT,
    ) -> None:
        self.workers = workers
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes
        self.wait_s = wait_s
        self._kept = kept
        self._slots = threading.BoundedSemaphore(workers)
        self._idle: queue.LifoQueue[_Child] = queue.LifoQueue()
        self._verdicts: OrderedDict[str, CompileVerdict] = OrderedDict()
        self._running: dict[str, Future[CompileVerdict]] = {}
        self._guard = threading.Lock()
        self._closed = False
        self.compiled = 0
        """How many compiles ran in a child (the rest were remembered verdicts)."""

    def warm(self) -> None:
        """Start the children now, so the first check pays no interpreter start."""
        for _ in range(self.workers - self._idle.qsize()):
            self._keep(_Child(self.memory_bytes))

    def _keep(self, child: _Child) -> None:
        with self._guard:
            if not self._closed:
                self._idle.put(child)
                return
        child.close()

    def error(self, name: str, source: bytes) -> CompileVerdict:
        """(line, message) of the first compile error, or None when ``source`` compiles. The same bytes
        asked for at once are compiled once: the later askers wait for the first one's verdict."""
        digest = hashlib.sha256(source).hexdigest()
        with self._guard:
            if digest in self._verdicts:
                self._verdicts.move_to_end(digest)
                return self._verdicts[digest]
            running = self._running.get(digest)
            if running is None:
                mine: Future[CompileVerdict] = Future()
                self._running[digest] = mine
        if running is not None:
            try:
                return running.result(timeout=self.wait_s + self.timeout_s)
            except TimeoutError as exc:
                raise Overloaded("the same DAG is still being compiled for another request: retry") from exc
        try:
            verdict = self._verdict(name, source, digest)
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        finally:
            with self._guard:
                del self._running[digest]
        mine.set_result(verdict)
        return verdict

    def _verdict(self, name: str, source: bytes, digest: str) -> CompileVerdict:
        if not self._slots.acquire(timeout=self.wait_s):
            raise Overloaded(
                f"every DAG compiler was busy for {self.wait_s:g} s ({self.workers} at once, "
                "MWAA_SP_COMPILE_WORKERS): validate again in a moment"
            )
        try:
            verdict = self._compile(name, source)
        finally:
            self._slots.release()
        if isinstance(verdict, str):
            return None, verdict  # a timeout or a crashed child says nothing certain about the bytes
        with self._guard:
            self._verdicts[digest] = verdict
            while len(self._verdicts) > self._kept:
                self._verdicts.popitem(last=False)
        return verdict

    def _compile(self, name: str, source: bytes) -> CompileVerdict | str:
        try:
            child = self._idle.get_nowait()
        except queue.Empty:
            child = _Child(self.memory_bytes)
        if not child.alive():
            child.close()
            child = _Child(self.memory_bytes)
        self.compiled += 1
        verdict = child.compile(name, source, self.timeout_s)
        if isinstance(verdict, str) or not child.alive():
            child.close()
        else:
            self._keep(child)
        return verdict

    def close(self) -> None:
        with self._guard:
            self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


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


def problems(workload: Workload, data: bytes, compiler: Compiler) -> list[Problem]:
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
    found = compiler.error(workload.dag_name, data)
    if found is None:
        return []
    line, message = found
    at = f" (line {line})" if line else ""
    return [Problem(field, f"{where} does not compile{at}: {message}", "Fix the DAG so that Python can compile it.")]
