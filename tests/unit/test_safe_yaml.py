from __future__ import annotations

import pytest

from service import safe_yaml

BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(8)]
)


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
