"""The naming rules at each of their limits: exactly at a limit and one past it, in bytes and in
characters where UTF-8 makes them differ, and the exact sentence each refusal says (callers show it
to the user after the field path)."""

from __future__ import annotations

import pytest

from service.domain import naming
from service.domain.naming import ComponentUrn

SEGMENT_RULE = "must be 1-63 letters, digits, '-' or '_' and start with a letter or digit"
NOT_A_URN = "is not a component URN of the form urn:dmb:cmp:<domain>:<dataproduct>:<major>:<name>"


def _urn(domain: str = "finance", dp: str = "invoices", major: str = "1", name: str = "wl") -> str:
    return f"urn:dmb:cmp:{domain}:{dp}:{major}:{name}"


# -- component URNs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(_urn(), ComponentUrn("finance", "invoices", "1", "wl"), id="plain"),
        pytest.param(_urn(domain="d" * 63), ComponentUrn("d" * 63, "invoices", "1", "wl"), id="domain-63"),
        pytest.param(_urn(dp="p" * 63), ComponentUrn("finance", "p" * 63, "1", "wl"), id="dp-63"),
        pytest.param(_urn(name="n" * 63), ComponentUrn("finance", "invoices", "1", "n" * 63), id="name-63"),
        pytest.param(_urn(name="9_a-b"), ComponentUrn("finance", "invoices", "1", "9_a-b"), id="digit-first"),
        pytest.param(_urn(domain="A"), ComponentUrn("A", "invoices", "1", "wl"), id="one-character"),
        pytest.param(_urn(major="0"), ComponentUrn("finance", "invoices", "0", "wl"), id="major-0"),
        pytest.param(_urn(major="9" * 9), ComponentUrn("finance", "invoices", "9" * 9, "wl"), id="major-9-digits"),
        pytest.param(_urn(major="007"), ComponentUrn("finance", "invoices", "007", "wl"), id="major-leading-zeros"),
    ],
)
def test_component_urns_accepted(value: str, expected: ComponentUrn) -> None:
    assert naming.parse_component_urn(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(_urn(domain="d" * 64), f"the domain segment {'d' * 64!r} {SEGMENT_RULE}", id="domain-64"),
        pytest.param(_urn(dp="p" * 64), f"the data product segment {'p' * 64!r} {SEGMENT_RULE}", id="dp-64"),
        pytest.param(_urn(name="n" * 64), f"the name segment {'n' * 64!r} {SEGMENT_RULE}", id="name-64"),
        pytest.param(_urn(domain=""), f"the domain segment '' {SEGMENT_RULE}", id="domain-empty"),
        pytest.param(_urn(dp="-dp"), f"the data product segment '-dp' {SEGMENT_RULE}", id="dp-dash-first"),
        pytest.param(_urn(name="_wl"), f"the name segment '_wl' {SEGMENT_RULE}", id="name-underscore-first"),
        pytest.param(_urn(name="wl.x"), f"the name segment 'wl.x' {SEGMENT_RULE}", id="name-dot"),
        pytest.param(_urn(name="é"), f"the name segment 'é' {SEGMENT_RULE}", id="name-non-ascii"),
        pytest.param(_urn(name="w l"), f"the name segment 'w l' {SEGMENT_RULE}", id="name-space"),
        pytest.param(_urn(domain="-", dp="-"), f"the domain segment '-' {SEGMENT_RULE}", id="first-bad-segment-named"),
        pytest.param(
            _urn(major="1" * 10),
            "the major version segment '1111111111' must be a non-negative integer",
            id="major-10-digits",
        ),
        pytest.param(_urn(major=""), "the major version segment '' must be a non-negative integer", id="major-empty"),
        pytest.param(_urn(major="-1"), "the major version segment '-1' must be a non-negative integer", id="major-neg"),
        pytest.param(
            _urn(major="1.0"), "the major version segment '1.0' must be a non-negative integer", id="major-dot"
        ),
        pytest.param(
            _urn(major="١"), "the major version segment '١' must be a non-negative integer", id="major-arabic"
        ),
        pytest.param("urn:dmb:cmp:a:b:1", f"'urn:dmb:cmp:a:b:1' {NOT_A_URN}", id="six-parts"),
        pytest.param("urn:dmb:cmp:a:b:1:c:d", f"'urn:dmb:cmp:a:b:1:c:d' {NOT_A_URN}", id="eight-parts"),
        pytest.param("URN:dmb:cmp:a:b:1:c", f"'URN:dmb:cmp:a:b:1:c' {NOT_A_URN}", id="upper-urn"),
        pytest.param("urn:dmb:dp:a:b:1:c", f"'urn:dmb:dp:a:b:1:c' {NOT_A_URN}", id="dp-urn"),
    ],
)
def test_component_urns_refused_with_the_reason(value: str, message: str) -> None:
    assert naming.parse_component_urn(value) == message


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(_urn(name="wl\n"), id="name-trailing-newline"),
        pytest.param(_urn(major="1\n"), id="major-trailing-newline"),
        pytest.param(_urn(domain="finance\n"), id="domain-trailing-newline"),
    ],
)
def test_a_trailing_newline_is_not_part_of_a_segment(value: str) -> None:
    assert isinstance(naming.parse_component_urn(value), str)


def test_the_names_derived_from_a_urn() -> None:
    urn = ComponentUrn("d.x", "p-y", "10", "n")
    assert urn.dotted_prefix == "d.x.p-y.10"
    assert urn.data_product_id == "urn:dmb:dp:d.x:p-y:10"


# -- DAG files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        pytest.param("a.py", ".py", id="py"),
        pytest.param("a.zip", ".zip", id="zip"),
        pytest.param("a.py.zip", ".zip", id="zip-of-py"),
        pytest.param(".py", None, id="only-py"),
        pytest.param(".zip", None, id="only-zip"),
        pytest.param("a.PY", None, id="upper"),
        pytest.param("a.pyc", None, id="pyc"),
        pytest.param("apy", None, id="no-dot"),
    ],
)
def test_dag_suffix(name: str, suffix: str | None) -> None:
    assert naming.dag_suffix(name) == suffix


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("a.b-c d", "a_b_c_d", id="punctuation"),
        pytest.param("é€😀", "___", id="one-underscore-per-character"),
        pytest.param("Az_09", "Az_09", id="kept"),
        pytest.param("", "", id="empty"),
    ],
)
def test_sanitise(value: str, expected: str) -> None:
    assert naming.sanitise(value) == expected


def test_deployed_dag_file_refuses_a_name_without_a_dag_suffix() -> None:
    urn = ComponentUrn("d", "p", "1", "n")
    with pytest.raises(ValueError, match=r"^dagName 'dag\.sql' has no \.py/\.zip suffix$"):
        naming.deployed_dag_file(urn, "dag.sql")
    assert naming.deployed_dag_file(urn, "a.b.zip") == "d_p_1_a_b.zip"


@pytest.mark.parametrize(
    ("dag_file", "dag_id"),
    [
        pytest.param("dags/d_p_1_my_dag.py", "d_p_1_my_dag", id="key"),
        pytest.param("d_p_1_my_dag.zip", "d_p_1_my_dag", id="file"),
        pytest.param("a/b.c/x.py", "x", id="dotted-folder"),
        pytest.param("dags/x", "x", id="no-suffix"),
        pytest.param("a.b.py", "a.b", id="last-dot-only"),
    ],
)
def test_dag_id_of(dag_file: str, dag_id: str) -> None:
    assert naming.dag_id_of(dag_file) == dag_id


@pytest.mark.parametrize(
    ("dag", "descriptor"),
    [
        pytest.param("d_p_1_x.py", "d_p_1_x_descriptor.yaml", id="py"),
        pytest.param("a.b.zip", "a.b_descriptor.yaml", id="last-dot-only"),
        pytest.param("x", "x_descriptor.yaml", id="no-dot"),
    ],
)
def test_descriptor_file(dag: str, descriptor: str) -> None:
    assert naming.descriptor_file(dag) == descriptor


@pytest.mark.parametrize(
    ("path", "prefix"),
    [
        pytest.param("/a/", "a/", id="leading-slash"),
        pytest.param("///", "", id="only-slashes"),
        pytest.param("a/b", "a/b/", id="no-trailing"),
    ],
)
def test_normalise_prefix(path: str, prefix: str) -> None:
    assert naming.normalise_prefix(path) == prefix


# -- paths: folders in the bucket ---------------------------------------------------------------

FOLDER = "must name a folder, e.g. 'dags/'"
RELATIVE = "must be relative to the bucket: remove the leading '/'"
SEPARATOR = "must use '/' as separator, not '\\'"
CONTROL = "must not contain control characters"
DOTS = "must not contain '.' or '..' segments"
PATH_TOO_LONG = "is longer than 1024 bytes"


@pytest.mark.parametrize(
    ("path", "allow_empty", "message"),
    [
        pytest.param("", True, None, id="empty-allowed"),
        pytest.param("", False, FOLDER, id="empty-refused"),
        pytest.param("/", True, FOLDER, id="slash-allowed-empty"),
        pytest.param("/", False, FOLDER, id="slash"),
        pytest.param("///", True, FOLDER, id="slashes"),
        pytest.param("/dags", False, RELATIVE, id="leading-slash"),
        pytest.param("/dags", True, RELATIVE, id="leading-slash-allow-empty"),
        pytest.param("dags\\x", False, SEPARATOR, id="backslash"),
        pytest.param("\\", False, SEPARATOR, id="only-backslash"),
        pytest.param("d\x00", False, CONTROL, id="nul"),
        pytest.param("d\x1f/", False, CONTROL, id="unit-separator"),
        pytest.param("d\x7f/", False, CONTROL, id="del"),
        pytest.param("d\n/", False, CONTROL, id="newline"),
        pytest.param("dags/./x", False, DOTS, id="dot-segment"),
        pytest.param("./dags", False, DOTS, id="leading-dot"),
        pytest.param("dags/..", False, DOTS, id="trailing-dotdot"),
        pytest.param(".", False, DOTS, id="only-dot"),
        pytest.param("dags/.../x", False, None, id="three-dots-is-a-name"),
        pytest.param(".hidden/", False, None, id="dot-name"),
        pytest.param("a..b/", False, None, id="dots-inside-a-name"),
        pytest.param("a//b", False, None, id="double-slash"),
        pytest.param("XXXX", False, None, id="a-name-without-slash"),
    ],
)
def test_path_rules_say_why(path: str, allow_empty: bool, message: str | None) -> None:
    assert naming.check_path(path, allow_empty) == message


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("d/" + "x" * 1022, None, id="ascii-1024-bytes"),
        pytest.param("d/" + "x" * 1023, PATH_TOO_LONG, id="ascii-1025-bytes"),
        pytest.param("é" * 512, None, id="2-byte-512-chars-1024-bytes"),
        pytest.param("é" * 512 + "x", PATH_TOO_LONG, id="2-byte-513-chars-1025-bytes"),
        pytest.param("€" * 341 + "x", None, id="3-byte-342-chars-1024-bytes"),
        pytest.param("€" * 341 + "xy", PATH_TOO_LONG, id="3-byte-343-chars-1025-bytes"),
        pytest.param("😀" * 256, None, id="4-byte-256-chars-1024-bytes"),
        pytest.param("😀" * 256 + "/", PATH_TOO_LONG, id="4-byte-257-chars-1025-bytes"),
    ],
)
def test_path_length_is_counted_in_utf8_bytes(path: str, message: str | None) -> None:
    assert naming.check_path(path, False) == message


# -- DAG names -----------------------------------------------------------------------------------

EMPTY = "must not be empty"
NOT_A_FILE = "must be a file name, not a path ('/' and '\\' are not allowed)"
DOTDOT = "must not start with '..'"
SUFFIX = "must end with .py (a DAG file) or .zip (a packaged DAG); Airflow loads nothing else"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("a.py", None, id="shortest-py"),
        pytest.param("a.zip", None, id="shortest-zip"),
        pytest.param(".x.py", None, id="hidden-file"),
        pytest.param("a..py", None, id="dots-inside"),
        pytest.param("my dag.py", None, id="space-inside"),
        pytest.param("", EMPTY, id="empty"),
        pytest.param("   ", EMPTY, id="blank"),
        pytest.param("\t", EMPTY, id="tab-only"),
        pytest.param("a/b.py", NOT_A_FILE, id="slash"),
        pytest.param("a\\b.py", NOT_A_FILE, id="backslash"),
        pytest.param("\\", NOT_A_FILE, id="only-backslash"),
        pytest.param("a\x00.py", CONTROL, id="nul"),
        pytest.param("a\x1f.py", CONTROL, id="unit-separator"),
        pytest.param("a\x7f.py", CONTROL, id="del"),
        pytest.param("a.py\r", CONTROL, id="carriage-return"),
        pytest.param(".", DOTDOT, id="dot"),
        pytest.param("..", DOTDOT, id="dotdot"),
        pytest.param("..x.py", DOTDOT, id="dotdot-prefix"),
        pytest.param("...py", DOTDOT, id="three-dots"),
        pytest.param(".py", SUFFIX, id="suffix-only"),
        pytest.param(".zip", SUFFIX, id="zip-suffix-only"),
        pytest.param("dag.sql", SUFFIX, id="sql"),
        pytest.param("dag.PY", SUFFIX, id="upper-suffix"),
        pytest.param("dag.py.txt", SUFFIX, id="suffix-not-last"),
        pytest.param("XX..XX", SUFFIX, id="dots-inside-no-suffix"),
    ],
)
def test_dag_name_rules_say_why(name: str, message: str | None) -> None:
    assert naming.check_dag_name(name) == message


# -- bucket names --------------------------------------------------------------------------------

BUCKET_SHAPE = (
    "must be 3-63 characters of lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
)
RESERVED = "uses a prefix or suffix that S3 reserves"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("abc", None, id="3-characters"),
        pytest.param("ab", BUCKET_SHAPE, id="2-characters"),
        pytest.param("a" * 63, None, id="63-characters"),
        pytest.param("a" * 64, BUCKET_SHAPE, id="64-characters"),
        pytest.param("a-b.c", None, id="dash-and-dot"),
        pytest.param("a-", BUCKET_SHAPE, id="ends-with-dash"),
        pytest.param("abc-", BUCKET_SHAPE, id="longer-ends-with-dash"),
        pytest.param(".abc", BUCKET_SHAPE, id="starts-with-dot"),
        pytest.param("a_b", BUCKET_SHAPE, id="underscore"),
        pytest.param("aBc", BUCKET_SHAPE, id="upper"),
        pytest.param("abé", BUCKET_SHAPE, id="non-ascii"),
        pytest.param("arn:aws:s3:::bucket", "must be a bucket name, not an ARN", id="arn"),
        pytest.param("arn:", "must be a bucket name, not an ARN", id="arn-prefix-only"),
        pytest.param("ARN:aws:s3:::bucket", BUCKET_SHAPE, id="upper-arn"),
        pytest.param("a..b", "must not contain '..', '.-' or '-.'", id="dot-dot"),
        pytest.param("a.-b", "must not contain '..', '.-' or '-.'", id="dot-dash"),
        pytest.param("a-.b", "must not contain '..', '.-' or '-.'", id="dash-dot"),
        pytest.param("a--b", None, id="dash-dash"),
        pytest.param("192.168.1.1", "must not be formatted as an IP address", id="ipv4"),
        pytest.param("0.0.0.0", "must not be formatted as an IP address", id="ipv4-zero"),
        pytest.param("256.1.1.1", None, id="not-an-ipv4"),
        pytest.param("1.2.3", None, id="three-numbers"),
        pytest.param("xn--abc", RESERVED, id="prefix-xn"),
        pytest.param("sthree-abc", RESERVED, id="prefix-sthree"),
        pytest.param("amzn-s3-demo-abc", RESERVED, id="prefix-amzn-s3-demo"),
        pytest.param("abc-s3alias", RESERVED, id="suffix-s3alias"),
        pytest.param("abc--ol-s3", RESERVED, id="suffix-ol-s3"),
        pytest.param("abc.mrap", RESERVED, id="suffix-mrap"),
        pytest.param("abc--x-s3", RESERVED, id="suffix-x-s3"),
        pytest.param("abc--table-s3", RESERVED, id="suffix-table-s3"),
        pytest.param("axn--abc", None, id="xn-not-a-prefix"),
        pytest.param("abc-s3aliasx", None, id="s3alias-not-a-suffix"),
    ],
)
def test_bucket_rules_say_why(name: str, message: str | None) -> None:
    assert naming.check_bucket(name) == message


def test_a_bucket_name_with_a_trailing_newline_is_refused() -> None:
    assert naming.check_bucket("mwaa-bucket\n") == BUCKET_SHAPE


# -- cron ----------------------------------------------------------------------------------------

FIVE_FIELDS = "must be a 5-field cron expression (minute hour day month weekday) or an Airflow preset like @daily"


@pytest.mark.parametrize("preset", sorted(naming.AIRFLOW_PRESETS))
def test_every_airflow_preset_is_accepted_with_surrounding_blanks(preset: str) -> None:
    assert naming.check_cron(f" {preset}\n") is None


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        pytest.param("59 23 31 12 6", None, id="every-field-at-its-maximum"),
        pytest.param(" 0 0 * * * ", None, id="blanks-around"),
        pytest.param("60 * * * *", "'60 * * * *' is not a valid cron expression", id="minute-60"),
        pytest.param("* 24 * * *", "'* 24 * * *' is not a valid cron expression", id="hour-24"),
        pytest.param(" * * 32 * * ", "' * * 32 * * ' is not a valid cron expression", id="day-32-quoted-as-sent"),
        pytest.param("@DAILY", FIVE_FIELDS, id="preset-upper"),
        pytest.param("@every", FIVE_FIELDS, id="unknown-preset"),
        pytest.param("* * * *", FIVE_FIELDS, id="four-fields"),
        pytest.param("* * * * * *", FIVE_FIELDS, id="six-fields"),
        pytest.param("", FIVE_FIELDS, id="empty"),
    ],
)
def test_cron_rules_say_why(expr: str, message: str | None) -> None:
    assert naming.check_cron(expr) == message


# -- the resulting key ---------------------------------------------------------------------------

KEY_TOO_LONG = "the resulting S3 key is longer than 1024 bytes"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        pytest.param("k" * 1024, None, id="ascii-1024"),
        pytest.param("k" * 1025, KEY_TOO_LONG, id="ascii-1025"),
        pytest.param("é" * 512, None, id="2-byte-1024"),
        pytest.param("é" * 511 + "kk", None, id="2-byte-mixed-1024"),
        pytest.param("é" * 512 + "k", KEY_TOO_LONG, id="2-byte-513-chars"),
        pytest.param("😀" * 256, None, id="4-byte-1024"),
        pytest.param("😀" * 255 + "kkkkk", KEY_TOO_LONG, id="4-byte-260-chars-1025"),
        pytest.param("", None, id="empty"),
    ],
)
def test_key_length_is_counted_in_utf8_bytes(key: str, message: str | None) -> None:
    assert naming.check_key(key) == message
