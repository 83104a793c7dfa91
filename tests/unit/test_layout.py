"""The package's layout holds its rules: layers a reader can name, imports that only point down, small
modules that say their room, and no process-wide environment writes."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "service"
RANK = {
    "domain": 1,
    "store": 2,
    "contract": 3,
    "aws": 3,
    "engine": 4,
    "operations": 5,
    "api": 6,
    "ui": 7,
    "cli": 7,
}
"""Each layer imports only layers of a lower rank (and the foundation: errors, settings, resources, logs,
metrics, background); the top-level wiring (app, wiring, sandbox, leases) may import anything."""
FOUNDATION = {"errors", "settings", "resources", "logs", "metrics", "background", "__init__"}
ALSO_ALLOWED = {("cli", "api"), ("ui", "api"), ("cli", "app"), ("cli", "wiring"), ("cli", "sandbox")}
"""The command line is an entry point like the app (it serves the HTTP edge, builds the same parts);
the web view is rendered behind the HTTP edge."""


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts and "__pycache__" not in p.parts]


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("service"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("service"))
    return {name for name in found if _is_module(name)}


def _is_module(name: str) -> bool:
    where = PACKAGE.parent / name.replace(".", "/")
    return where.with_suffix(".py").is_file() or where.is_dir()


def _name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def test_the_top_level_holds_at_most_fifteen_modules() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 15, top


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_is_small_and_says_its_room(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= 400
    assert text.startswith('"""'), "the first line is a docstring saying what the module is for"


def test_imports_point_down_the_layers_and_folders_form_no_cycle() -> None:
    wrong: list[str] = []
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _modules():
        source = _layer(_name(path))
        for target in {_layer(name) for name in _imports(path)} - {source}:
            if source in RANK and target in RANK:
                graph[source].add(target)
                if RANK[target] >= RANK[source] and (source, target) not in ALSO_ALLOWED:
                    wrong.append(f"{_name(path)} imports the {target} layer")
            elif source in RANK and target not in FOUNDATION and (source, target) not in ALSO_ALLOWED:
                wrong.append(f"{_name(path)} imports the top-level {target}")
    assert wrong == []

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    assert [layer for layer in list(graph) if reaches(layer, layer, {layer})] == []


def test_stores_import_nothing_above_them() -> None:
    for path in (PACKAGE / "store").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        above = {_layer(name) for name in _imports(path)} - {"store", "domain", "errors"}
        assert above == set(), f"{_name(path)} imports {above}"


def test_nothing_writes_the_process_environment() -> None:
    writes = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            target = node.func if isinstance(node, ast.Call) else None
            mutating = isinstance(target, ast.Attribute) and target.attr in ("setdefault", "update", "pop", "putenv")
            if mutating and ast.unparse(target.value) in ("os.environ", "os"):  # type: ignore[union-attr]
                writes.append(f"{_name(path)}:{node.lineno}")
            if isinstance(node, ast.Assign | ast.Delete):
                for item in node.targets:
                    if isinstance(item, ast.Subscript) and ast.unparse(item.value) == "os.environ":
                        writes.append(f"{_name(path)}:{node.lineno}")
    assert writes == []
