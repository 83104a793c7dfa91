from __future__ import annotations

import pytest

from service.domain import safe_yaml


def _bomb(levels: int = 9, width: int = 10) -> str:
    """The billion-laughs shape: each level lists the previous one ``width`` times."""
    lines = ["l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * width) + "]")
    return "\n".join(lines)


BOMB = _bomb()


def test_alias_bomb_is_rejected_before_expansion() -> None:
    with pytest.raises(safe_yaml.YamlRejected, match="expands to more than"):
        safe_yaml.load(BOMB, "descriptor", 1_000_000)


def test_ordinary_aliases_are_fine() -> None:
    assert safe_yaml.load("a: &x [1, 2]\nb: *x\n", "descriptor", 1000) == {"a": [1, 2], "b": [1, 2]}


def test_duplicate_keys_are_rejected() -> None:
    with pytest.raises(safe_yaml.YamlRejected, match="duplicate key 'a'"):
        safe_yaml.load("a: 1\na: 2\n", "descriptor", 1000)


def test_python_tags_are_rejected() -> None:
    with pytest.raises(safe_yaml.YamlRejected, match="not valid YAML"):
        safe_yaml.load("a: !!python/object/apply:os.system ['true']\n", "descriptor", 1000)


def test_size_and_depth_limits() -> None:
    with pytest.raises(safe_yaml.YamlRejected, match="larger than"):
        safe_yaml.load("a: " + "x" * 2000, "descriptor", 1000)
    with pytest.raises(safe_yaml.YamlRejected, match="nesting"):
        safe_yaml.load("[" * 100 + "]" * 100, "descriptor", 100_000)
