"""DAGs Airflow cannot load are refused, naming the field, the line and the compiler's message —
and the file is never run."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.dag_check import compile_error, problems, zip_problem
from service.descriptor import parse_descriptor
from tests.support.archives import zip_of
from tests.support.descriptors import WorkloadSpec, descriptor


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


def test_problems_name_the_dag_field() -> None:
    workload = parse_descriptor(descriptor(WorkloadSpec(dag_name="d.py")))
    [problem] = problems(workload, b"if True\n    pass\n")
    assert problem.field == "dataProduct.components[0].specific.dagName"
    assert "s3://mwaa-bucket/source/finance.invoices.1.d.py does not compile (line 1): expected ':'" in problem.message
    zipped = parse_descriptor(descriptor(WorkloadSpec(dag_name="d.zip")))
    assert problems(zipped, zip_of({"d.py": b"x = 1\n"})) == []
    [bad] = problems(zipped, b"not a zip")
    assert bad.message.endswith("is not a zip archive")
