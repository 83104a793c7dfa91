"""DAGs Airflow cannot load are refused, naming the field, the line and the compiler's message —
and the file is never run. Compiles run in a bounded pool of warm, capped children; a verdict is
remembered by the bytes' digest, so the same bytes are never compiled twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from service.domain.dag_check import Compiler, CompileVerdict, problems, zip_problem
from service.domain.descriptor import parse_descriptor
from service.errors import Overloaded
from tests.support.archives import zip_of
from tests.support.descriptors import WorkloadSpec, descriptor


@pytest.fixture(scope="module")
def compiler() -> Iterator[Compiler]:
    pool = Compiler(2)
    yield pool
    pool.close()


def compile_error(name: str, source: bytes) -> CompileVerdict:
    """A fresh pool each time: these cases are about the verdict, not about the memory of it."""
    pool = Compiler(1)
    try:
        return pool.error(name, source)
    finally:
        pool.close()


def test_a_dag_that_compiles_passes() -> None:
    assert compile_error("a.py", b"from airflow import DAG\nx = 1\n") is None


def test_a_syntax_error_names_its_line_and_the_compilers_message() -> None:
    assert compile_error("a.py", b"x = 1\ndef broken(:\n    pass\n") == (2, "invalid syntax")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (b"x = " + b"(" * 400 + b")" * 400 + b"\n", "too many nested parentheses"),
        (b"x = 1\x00\n", "null bytes"),
        (b"return 1\n", "'return' outside function"),
    ],
)
def test_hostile_or_broken_sources_are_errors_not_crashes(source: bytes, expected: str) -> None:
    found = compile_error("a.py", source)
    assert found is not None
    assert expected in found[1]


def test_the_dag_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    assert compile_error("a.py", f"open({str(marker)!r}, 'w').write('x')\n".encode()) is None
    assert not marker.exists()


def test_zip_dags() -> None:
    assert zip_problem(zip_of({"my_dag.py": b"x = 1\n", "lib/helper.py": b""})) is None
    assert zip_problem(b"PK\x03\x04 not really") == "is not a zip archive"
    assert zip_problem(b"x = 1\n") == "is not a zip archive"
    nested = zip_problem(zip_of({"pkg/my_dag.py": b"x = 1\n"}))
    assert nested is not None
    assert nested.startswith("has no .py file at its root")


def test_problems_name_the_dag_field(compiler: Compiler) -> None:
    workload = parse_descriptor(descriptor(WorkloadSpec(dag_name="d.py")))
    [problem] = problems(workload, b"if True\n    pass\n", compiler)
    assert problem.field == "dataProduct.components[0].specific.dagName"
    assert "s3://mwaa-bucket/source/finance.invoices.1.d.py does not compile (line 1): expected ':'" in problem.message
    zipped = parse_descriptor(descriptor(WorkloadSpec(dag_name="d.zip")))
    assert problems(zipped, zip_of({"d.py": b"x = 1\n"}), compiler) == []
    [bad] = problems(zipped, b"not a zip", compiler)
    assert bad.message.endswith("is not a zip archive")


def test_the_same_bytes_are_compiled_once_and_changed_bytes_again() -> None:
    pool = Compiler(1)
    try:
        assert pool.error("a.py", b"x = 1\n") is None
        assert pool.error("b.py", b"x = 1\n") is None  # another name, the same bytes
        assert pool.compiled == 1
        assert pool.error("a.py", b"x = (\n") == (1, "'(' was never closed")
        assert pool.error("a.py", b"x = (\n") == (1, "'(' was never closed")
        assert pool.compiled == 2
        assert pool.error("a.py", b"x = 2\n") is None
        assert pool.compiled == 3
    finally:
        pool.close()


def test_the_same_bytes_asked_at_once_are_compiled_once() -> None:
    pool = Compiler(2)
    try:
        source = b"x = [" + b"1," * 200_000 + b"]\n"  # long enough for the askers to overlap
        with ThreadPoolExecutor(6) as threads:
            verdicts = list(threads.map(lambda _: pool.error("a.py", source), range(6)))
        assert verdicts == [None] * 6
        assert pool.compiled == 1
    finally:
        pool.close()


def test_remembered_verdicts_are_bounded() -> None:
    pool = Compiler(1, kept=2)
    try:
        for n in range(3):
            pool.error("a.py", f"x = {n}\n".encode())
        assert pool.compiled == 3
        pool.error("a.py", b"x = 0\n")  # the oldest verdict was forgotten
        assert pool.compiled == 4
        pool.error("a.py", b"x = 2\n")  # a recent one was not
        assert pool.compiled == 4
    finally:
        pool.close()


def test_a_file_past_the_memory_cap_is_an_error_and_the_pool_goes_on() -> None:
    pool = Compiler(1, memory_bytes=256 * 1024 * 1024)
    try:
        # Compiling a 3-million-element literal needs far more than 256 MiB.
        found = pool.error("big.py", b"x = [" + b"1," * 3_000_000 + b"]\n")
        assert found is not None
        assert "MemoryError" in found[1] or "without an answer" in found[1]
        assert pool.error("ok.py", b"y = 1\n") is None  # a new child took the retired one's place
    finally:
        pool.close()


def test_at_most_workers_compile_at_once_and_a_full_pool_refuses_after_its_wait() -> None:
    pool = Compiler(2, wait_s=0.5)
    try:
        pool.warm()
        with ThreadPoolExecutor(8) as threads:
            verdicts = list(threads.map(lambda n: pool.error("a.py", f"v = {n}\n".encode()), range(8)))
        assert verdicts == [None] * 8
        assert pool._idle.qsize() <= 2  # noqa: SLF001 - the pool's own bound
        held = [pool._slots.acquire(), pool._slots.acquire()]  # noqa: SLF001 - every compiler busy
        assert held == [True, True]
        started = threading.Event()

        def busy() -> None:
            started.set()
            pool.error("a.py", b"w = 1\n")

        with pytest.raises(Overloaded, match="every DAG compiler was busy"):
            busy()
        assert started.is_set()
    finally:
        pool._slots.release()  # noqa: SLF001
        pool._slots.release()  # noqa: SLF001
        pool.close()
