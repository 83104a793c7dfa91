"""The untrusted-YAML limits, each exactly at its figure and one past it: size in UTF-8 bytes
(characters differ), nesting depth (sequences, mappings, complex keys), expanded node count
(aliases counted at every use), alias uses; and the whole ``Problem`` each refusal carries."""

from __future__ import annotations

import pytest
import yaml

from service.domain import safe_yaml
from service.domain.safe_yaml import MAX_ALIASES, MAX_DEPTH, MAX_NODES, YamlRejected
from service.errors import Problem

FIELD = "request.descriptor"
WELL_FORMED = "Send well-formed YAML."


def _load(text: str, max_bytes: int = 10_000_000) -> object:
    return safe_yaml.load(text, FIELD, max_bytes)


def _refusal(text: str, max_bytes: int = 10_000_000) -> Problem:
    with pytest.raises(YamlRejected) as info:
        _load(text, max_bytes)
    assert str(info.value) == info.value.problem.message
    return info.value.problem


def test_the_figures() -> None:
    assert (MAX_DEPTH, MAX_NODES, MAX_ALIASES) == (64, 200_000, 1_000)


# -- size, in UTF-8 bytes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "max_bytes", "fits"),
    [
        pytest.param("a: bcd", 6, True, id="ascii-at-limit"),
        pytest.param("a: bcde", 6, False, id="ascii-one-past"),
        pytest.param("a: ééé", 9, True, id="2-byte-6-chars-9-bytes"),
        pytest.param("a: éééx", 9, False, id="2-byte-7-chars-10-bytes"),
        pytest.param("a: 😀", 7, True, id="4-byte-4-chars-7-bytes"),
        pytest.param("a: 😀", 6, False, id="4-byte-4-chars-over-6"),
        pytest.param("", 0, True, id="empty-at-zero"),
        pytest.param(" ", 0, False, id="one-byte-over-zero"),
    ],
)
def test_size_is_counted_in_utf8_bytes(text: str, max_bytes: int, fits: bool) -> None:
    if fits:
        assert _load(text, max_bytes) == yaml.safe_load(text)
    else:
        assert _refusal(text, max_bytes) == Problem(
            FIELD, f"larger than {max_bytes} bytes", "Send a smaller descriptor."
        )


def test_a_lone_surrogate_counts_three_bytes_and_is_not_text() -> None:
    text = "a: \ud800"  # 3 + 3 bytes, as it would be sent (surrogatepass)
    assert _refusal(text, 5) == Problem(FIELD, "larger than 5 bytes", "Send a smaller descriptor.")
    assert _refusal(text, 6) == Problem(
        FIELD,
        "not text: 'utf-8' codec can't encode character '\\ud800' in position 3: surrogates not allowed",
        "Send the descriptor as UTF-8 text.",
    )


# -- nesting depth ---------------------------------------------------------------------------------

DEEPER = Problem(FIELD, "nesting deeper than 64 levels", "Flatten the descriptor.")


def _seqs(levels: int, inner: str = "") -> str:
    return "[" * levels + inner + "]" * levels


def _maps(levels: int) -> str:
    return "{a: " * levels + "x" + "}" * levels


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        # the root is at depth 0: 65 nested sequences put the innermost (empty) one at depth 64
        pytest.param(_seqs(65), True, id="empty-sequence-at-64"),
        pytest.param(_seqs(66), False, id="empty-sequence-at-65"),
        pytest.param(_seqs(64, "x"), True, id="scalar-in-sequence-at-64"),
        pytest.param(_seqs(65, "x"), False, id="scalar-in-sequence-at-65"),
        pytest.param(_maps(64), True, id="key-and-value-at-64"),
        pytest.param(_maps(65), False, id="key-and-value-at-65"),
        pytest.param("a: " + _seqs(63, "x"), True, id="value-scalar-at-64"),
        pytest.param("a: " + _seqs(64, "x"), False, id="value-scalar-at-65"),
        pytest.param("- " + _seqs(63, "x"), True, id="block-item-scalar-at-64"),
        pytest.param("- " + _seqs(64, "x"), False, id="block-item-scalar-at-65"),
    ],
)
def test_nesting_depth(text: str, fits: bool) -> None:
    if fits:
        assert _load(text) == yaml.safe_load(text)
    else:
        assert _refusal(text) == DEEPER


def test_a_deep_complex_key_counts_too() -> None:
    """A key is measured at its mapping's depth plus one, like a value."""
    assert _refusal("{" + _seqs(64, "x") + ": 1}") == DEEPER
    # one level less passes the measure; then Python cannot hash a list key
    assert _refusal("{" + _seqs(63, "x") + ": 1}") == Problem(
        FIELD, "not valid YAML: found unhashable key (line 1)", WELL_FORMED
    )


def test_an_alias_is_measured_where_it_is_used() -> None:
    assert _refusal("a: &s x\nb: " + _seqs(64, "*s")) == DEEPER  # the alias itself at depth 65
    assert _load("a: &s x\nb: " + _seqs(63, "*s")) == {"a": "x", "b": _nested(63, "x")}


def _nested(levels: int, inner: object) -> object:
    value = inner
    for _ in range(levels):
        value = [value]
    return value


def test_an_aliased_subtree_counts_at_the_depth_it_lands() -> None:
    assert _refusal("a: &s [x]\nb: " + _seqs(63, "*s")) == DEEPER  # the alias' x lands at depth 65
    assert _load("a: &s [x]\nb: " + _seqs(62, "*s")) == {"a": ["x"], "b": _nested(63, "x")}  # x at 64
    # A taller subtree counts its full height, no more: [[[x]]] aliased at depth 61 puts x at 64.
    assert _load("a: &s [[[x]]]\nb: " + _seqs(60, "*s")) == {"a": _nested(3, "x"), "b": _nested(63, "x")}
    assert _refusal("a: &s [[[x]]]\nb: " + _seqs(61, "*s")) == DEEPER


def test_libyamls_own_nesting_limit_is_a_yaml_error() -> None:
    assert _refusal(_seqs(5000)) == Problem(
        FIELD, "not valid YAML: exceeded maximum nesting depth (line 1)", WELL_FORMED
    )


# -- expanded node count ---------------------------------------------------------------------------

NODES = Problem(FIELD, "expands to more than 200000 YAML nodes", "Remove alias bombs; send less data.")


def _sequence_of(extra: int) -> str:
    """Root sequence: an anchored 999-scalar sequence (1,000 nodes), 198 aliases to it (1,000 each)
    and ``extra`` scalars: 1 + 1,000 + 198,000 + extra nodes."""
    anchored = "&a [" + ", ".join(["x"] * 999) + "]"
    return "[" + ", ".join([anchored, *["*a"] * 198, *["y"] * extra]) + "]"


def _mapping_of(extra: int) -> str:
    """Root mapping: ``a`` → the anchored sequence (1 + 1,000), 198 keys → an alias (1 + 1,000 each)
    and ``z`` → a sequence of ``extra`` scalars (1 + 1 + extra): 199,202 + extra nodes."""
    anchored = "&a [" + ", ".join(["x"] * 999) + "]"
    pairs = [f"a: {anchored}", *[f"b{n}: *a" for n in range(198)], "z: [" + ", ".join(["y"] * extra) + "]"]
    return "{" + ", ".join(pairs) + "}"


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        pytest.param(_sequence_of(999), True, id="sequence-200000"),
        pytest.param(_sequence_of(1000), False, id="sequence-200001"),
        pytest.param(_mapping_of(798), True, id="mapping-200000"),
        pytest.param(_mapping_of(799), False, id="mapping-200001"),
    ],
)
def test_expanded_node_count(text: str, fits: bool) -> None:
    if fits:
        loaded = _load(text)
        assert isinstance(loaded, list | dict)
        assert len(loaded) in (1 + 198 + 999, 1 + 198 + 1)
    else:
        assert _refusal(text) == NODES


def test_many_keys_are_not_aliases() -> None:
    """Every key is its own node: 1,500 keys are neither aliases nor a problem."""
    text = "{" + ", ".join(f"k{n}: {n}" for n in range(1500)) + "}"
    assert _load(text) == {f"k{n}": n for n in range(1500)}


# -- alias uses ------------------------------------------------------------------------------------

ALIASES = Problem(FIELD, "more than 1000 YAML aliases", "Write values out in full.")


@pytest.mark.parametrize(
    ("uses", "fits"),
    [pytest.param(1000, True, id="1000-uses"), pytest.param(1001, False, id="1001-uses")],
)
def test_alias_uses(uses: int, fits: bool) -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * uses) + "]\n"
    if fits:
        assert _load(text) == {"a": "x", "b": ["x"] * uses}
    else:
        assert _refusal(text) == ALIASES


def test_alias_uses_add_up_across_anchors() -> None:
    text = "a: &a x\nb: &b y\nc: [" + ", ".join(["*a"] * 500 + ["*b"] * 501) + "]\n"
    assert _refusal(text) == ALIASES
    assert _load(text.replace("*b", "*a", 1).replace(", *b]", "]")) is not None


def test_a_recursive_alias_is_refused() -> None:
    expected = Problem(FIELD, "recursive YAML alias", "Remove self-referencing anchors.")
    assert _refusal("a: &a [*a]\n") == expected
    assert _refusal("a: &a {b: [1, {c: *a}]}\n") == expected
    assert _load("a: &a [1]\nb: [*a, [*a]]\n") == {"a": [1], "b": [[1], [[1]]]}


# -- keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (line 3)", id="third-line"),
        pytest.param("x:\n  k: 1\n  k: 2\n", "duplicate key 'k' (line 3)", id="nested"),
        pytest.param("{a: 1, a: 2}", "duplicate key 'a' (line 1)", id="flow"),
        pytest.param("'a': 1\n\"a\": 2\n", "duplicate key 'a' (line 2)", id="quoted-alike"),
    ],
)
def test_duplicate_keys_name_the_key_and_its_line(text: str, message: str) -> None:
    assert _refusal(text) == Problem(
        FIELD, message, "Give every key once; YAML would silently keep only the last value."
    )


def test_the_same_key_in_different_mappings_and_repeated_merge_keys_are_fine() -> None:
    assert _load("x: {a: 1}\ny: {a: 2}\n") == {"x": {"a": 1}, "y": {"a": 2}}
    merged = "b: &b {x: 1}\nc: &c {y: 2}\nm:\n  <<: *b\n  <<: *c\n  z: 3\n"
    assert _load(merged) == {"b": {"x": 1}, "c": {"y": 2}, "m": {"x": 1, "y": 2, "z": 3}}


# -- values the safe constructors cannot build -----------------------------------------------------


def _cannot(shown: str, error: str, line: int) -> Problem:
    return Problem(FIELD, f"not valid YAML: cannot read the value {shown!r}: {error} (line {line})", WELL_FORMED)


NO_GROUPDICT = "AttributeError: 'NoneType' object has no attribute 'groupdict'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "a: 1\nb: !!timestamp 2001-13-45\n",
            _cannot("2001-13-45", "ValueError: month must be in 1..12", 2),
            id="date",
        ),
        pytest.param("!!timestamp x", _cannot("x", NO_GROUPDICT, 1), id="not-a-timestamp"),
        pytest.param("!!int 0x", _cannot("0x", "ValueError: invalid literal for int() with base 16: ''", 1), id="int"),
        pytest.param("a: !!timestamp " + "y" * 40, _cannot("y" * 40, NO_GROUPDICT, 1), id="40-characters-shown-whole"),
        pytest.param(
            "a: !!timestamp " + "y" * 41, _cannot("y" * 40 + "…", NO_GROUPDICT, 1), id="41-characters-cut-at-40"
        ),
        pytest.param(
            "\n\n!!timestamp {=: 2001-13-45}",
            _cannot("tag:yaml.org,2002:timestamp", "TypeError: expected string or bytes-like object, got 'list'", 3),
            id="not-a-scalar-shows-the-tag",
        ),
        pytest.param(
            "a: [!!timestamp x]\nb: !!timestamp y\n", _cannot("y", NO_GROUPDICT, 2), id="shallow-values-first"
        ),
    ],
)
def test_constructor_failures_name_the_value_and_line(text: str, expected: Problem) -> None:
    assert _refusal(text) == expected


# -- what the parser refuses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a: [1, 2", "not valid YAML: did not find expected ',' or ']' (line 2)", id="unclosed"),
        pytest.param("a: 1\n---\nb: 2\n", "not valid YAML: but found another document (line 2)", id="two-documents"),
        pytest.param("\na: *x", "not valid YAML: found undefined alias (line 2)", id="undefined-alias"),
        pytest.param(
            "a: 1\x01",
            "not valid YAML: unacceptable character #x0001: control characters are not allowed\n"
            '  in "<unicode string>", position 4',
            id="control-character-no-line",
        ),
        pytest.param(
            "a: !!python/name:os.system x",
            "not valid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/name:os.system'"
            " (line 1)",
            id="python-tag",
        ),
    ],
)
def test_parser_errors(text: str, message: str) -> None:
    assert _refusal(text) == Problem(FIELD, message, WELL_FORMED)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n...\n"])
def test_an_empty_document_is_none(text: str) -> None:
    assert _load(text) is None


def test_a_document_is_loaded_whole() -> None:
    assert _load("a: [1, {b: c}]\nd: 2001-12-14\n") == yaml.safe_load("a: [1, {b: c}]\nd: 2001-12-14\n")


# -- failures only the pure-Python parser or an exotic stream raises ------------------------------
# libyaml (the parser in use) refuses deep nesting and undecodable text before ``_measure`` runs;
# PyYAML without libyaml would raise these from inside the parse: the refusal must be the same.


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            RecursionError("maximum recursion depth exceeded"),
            Problem(FIELD, "nesting too deep to parse", "Flatten the descriptor."),
            id="recursion",
        ),
        pytest.param(
            UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
            Problem(
                FIELD,
                "not text: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
                "Send the descriptor as UTF-8 text.",
            ),
            id="unicode",
        ),
        pytest.param(
            yaml.MarkedYAMLError(problem="no mark here"),
            Problem(FIELD, "not valid YAML: no mark here", WELL_FORMED),
            id="marked-error-without-a-mark",
        ),
        pytest.param(
            yaml.YAMLError("plain"),
            Problem(FIELD, "not valid YAML: plain", WELL_FORMED),
            id="plain-yaml-error",
        ),
    ],
)
def test_failures_inside_the_parse_are_refusals(
    monkeypatch: pytest.MonkeyPatch, error: Exception, expected: Problem
) -> None:
    def fail(node: yaml.Node, field: str) -> None:
        assert field == FIELD
        raise error

    monkeypatch.setattr(safe_yaml, "_measure", fail)
    assert _refusal("a: 1\n") == expected


def test_the_field_is_the_callers() -> None:
    with pytest.raises(YamlRejected) as info:
        safe_yaml.load("a: 1\na: 2\n", "dataProduct.components[3].specific", 100)
    assert info.value.problem.field == "dataProduct.components[3].specific"
