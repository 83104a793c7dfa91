"""Descriptor → workload at each boundary: every refusal as the whole ``Problem`` (field path, message,
solution) and in order, the workload's every field (normalised paths, stripped cron), key lengths at
1,024 bytes and one past in characters and in bytes, duplicate component ids, deployed-key
collisions, and the bucket refusal hook."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from service.contract.decode import workload_of
from service.contract.models import DescriptorKind, ProvisioningRequest
from service.domain.descriptor import parse_descriptor
from service.domain.naming import ComponentUrn
from service.errors import DescriptorInvalid, Problem, RequestInvalid

DP_ID = "urn:dmb:dp:finance:invoices:1"
C0 = "dataProduct.components[0]"
SPECIFIC = {
    "dagName": "my_dag.py",
    "scheduleCron": "5 5 * * *",
    "sourcePath": "source/",
    "destinationPath": "dags/",
    "bucketName": "mwaa-bucket",
}
ADD_SPECIFIC = "Add a specific section with dagName, scheduleCron, sourcePath, destinationPath and bucketName."


def _id(name: str = "wl", dp: str = "invoices") -> str:
    return f"urn:dmb:cmp:finance:{dp}:1:{name}"


def _component(name: str = "wl", *, kind: Any = "workload", **specific: Any) -> dict[str, Any]:
    return {"id": _id(name), "kind": kind, "name": name, "specific": {**SPECIFIC, **specific}}


def _text(*components: Any, provision: Any = None, dp_id: Any = DP_ID, **extra: Any) -> str:
    data_product = {"id": dp_id, "name": "Invoices é", "domain": "finance", "components": list(components), **extra}
    document = {
        "dataProduct": data_product,
        "componentIdToProvision": _id() if provision is None else provision,
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _problems(text: str, **kwargs: Any) -> list[Problem]:
    with pytest.raises(DescriptorInvalid) as info:
        parse_descriptor(text, **kwargs)
    return list(info.value.problems)


# -- the workload ----------------------------------------------------------------------------------


def test_the_workload_has_every_field() -> None:
    text = _text(
        {"id": "urn:dmb:cmp:other:x:1:y", "kind": "storage"},
        _component(scheduleCron=" @daily ", sourcePath="a//b", destinationPath="/".join(["dags", "", "sub"])),
    )
    workload = parse_descriptor(text)
    assert workload.component_id == _id()
    assert workload.urn == ComponentUrn("finance", "invoices", "1", "wl")
    assert workload.dag_name == "my_dag.py"
    assert workload.schedule_cron == "@daily"
    assert (workload.source_path, workload.destination_path) == ("a/b/", "dags/sub/")
    assert workload.bucket == "mwaa-bucket"
    assert workload.field == "dataProduct.components[1]"
    data_product = yaml.safe_load(text)["dataProduct"]
    # the data product as sent, in its own key order and with its characters unescaped
    assert workload.descriptor_yaml.startswith(f"id: {DP_ID}\nname: Invoices é\ndomain: finance\ncomponents:\n")
    assert yaml.safe_load(workload.descriptor_yaml) == data_product


def test_a_source_path_may_be_the_bucket_root() -> None:
    workload = parse_descriptor(_text(_component(sourcePath="")))
    assert workload.source_path == ""
    assert workload.staged_key == "finance.invoices.1.my_dag.py"


# -- what the document must be ---------------------------------------------------------------------

NOT_A_DESCRIPTOR = Problem(
    "descriptor",
    "must be a YAML mapping with dataProduct and componentIdToProvision",
    "Send a COMPONENT_DESCRIPTOR: the data product plus the id of the component to provision.",
)
ID_MISSING = Problem(
    "componentIdToProvision", "is missing or not a string", "Name the component to provision with its id."
)
DP_MISSING = Problem("dataProduct", "is missing or not a mapping", "Include the whole data product descriptor.")
COMPONENTS_MISSING = Problem(
    "dataProduct.components",
    "is missing or empty",
    "List the data product's components, including the workload to provision.",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [NOT_A_DESCRIPTOR], id="empty"),
        pytest.param("- a\n", [NOT_A_DESCRIPTOR], id="sequence"),
        pytest.param("just text\n", [NOT_A_DESCRIPTOR], id="scalar"),
        pytest.param("{}\n", [ID_MISSING, DP_MISSING], id="empty-mapping"),
        pytest.param("componentIdToProvision: x\ndataProduct: [1]\n", [DP_MISSING], id="dp-not-a-mapping"),
        pytest.param(
            "componentIdToProvision: ''\ndataProduct: {components: []}\n",
            [ID_MISSING, COMPONENTS_MISSING],
            id="empty-id-and-no-components",
        ),
        pytest.param(
            "componentIdToProvision: 5\ndataProduct: {components: [{id: 5}]}\n", [ID_MISSING], id="id-not-a-string"
        ),
        pytest.param("componentIdToProvision: x\ndataProduct: {}\n", [COMPONENTS_MISSING], id="components-missing"),
        pytest.param(
            "componentIdToProvision: x\ndataProduct: {components: {a: 1}}\n",
            [COMPONENTS_MISSING],
            id="components-not-a-list",
        ),
        pytest.param(
            _text(_component(), provision=_id("nope")),
            [
                Problem(
                    "componentIdToProvision",
                    f"no component in dataProduct.components has id {_id('nope')!r}",
                    "Use the id of one of the data product's components.",
                )
            ],
            id="no-such-component",
        ),
        pytest.param(
            "a: [1\n",
            [
                Problem(
                    "descriptor", "not valid YAML: did not find expected ',' or ']' (line 2)", "Send well-formed YAML."
                )
            ],
            id="not-yaml",
        ),
    ],
)
def test_document_problems(text: str, expected: list[Problem]) -> None:
    assert _problems(text) == expected


@pytest.mark.parametrize(
    ("extra", "fits"),
    [pytest.param(0, True, id="at-max-bytes"), pytest.param(1, False, id="one-byte-past")],
)
def test_max_bytes_is_the_descriptors_size_in_bytes(extra: int, fits: bool) -> None:
    text = _text(_component())
    limit = len(text.encode()) - extra
    assert len(text.encode()) > len(text)  # 'é': bytes and characters differ
    if fits:
        assert parse_descriptor(text, max_bytes=limit).component_id == _id()
    else:
        assert _problems(text, max_bytes=limit) == [
            Problem("descriptor", f"larger than {limit} bytes", "Send a smaller descriptor.")
        ]


# -- the component ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("copies", "message"),
    [pytest.param(2, "2 components share the id", id="two"), pytest.param(3, "3 components share the id", id="three")],
)
def test_duplicate_component_ids(copies: int, message: str) -> None:
    """The first is the one judged; its twins are also other workloads deploying to its keys."""
    problems = _problems(_text(*[_component() for _ in range(copies)]))
    assert problems[0] == Problem("dataProduct.components", f"{message} {_id()!r}", "Give every component a unique id.")
    assert [p.field for p in problems[1:]] == [f"{C0}.specific.dagName"] * (copies - 1)
    assert [p.message.split(" (")[0] for p in problems[1:]] == [
        f"deploys to the same S3 key as dataProduct.components[{n}]" for n in range(1, copies)
    ]


def test_duplicate_ids_with_different_dags_are_one_problem() -> None:
    problems = _problems(_text(_component(), _component(dagName="other.py")))
    assert problems == [
        Problem("dataProduct.components", f"2 components share the id {_id()!r}", "Give every component a unique id.")
    ]


@pytest.mark.parametrize(
    ("kind", "shown"),
    [pytest.param("storage", "'storage'", id="storage"), pytest.param(None, "None", id="no-kind")],
)
def test_only_workload_components(kind: Any, shown: str) -> None:
    component = _component(kind=kind)
    if kind is None:
        del component["kind"]
    assert _problems(_text(component)) == [
        Problem(
            f"{C0}.kind",
            f"must be 'workload', got {shown}",
            "This provisioner deploys workload components (Airflow DAGs) only.",
        )
    ]


def test_an_id_that_is_not_a_urn_is_the_only_problem_reported() -> None:
    component = {"id": "my-component", "kind": "workload", "specific": {"dagName": 1}}
    assert _problems(_text(component, provision="my-component")) == [
        Problem(
            f"{C0}.id",
            "'my-component' is not a component URN of the form urn:dmb:cmp:<domain>:<dataproduct>:<major>:<name>",
            "Use the id Witboost assigns: urn:dmb:cmp:<domain>:<dp>:<major>:<name>.",
        )
    ]


@pytest.mark.parametrize(
    ("dp_id", "refused"),
    [
        pytest.param("urn:dmb:dp:finance:other:1", True, id="another-data-product"),
        pytest.param("urn:dmb:dp:finance:invoices:2", True, id="another-major"),
        pytest.param(DP_ID, False, id="its-own"),
        pytest.param("finance.invoices.1", False, id="not-a-urn-not-compared"),
        pytest.param(7, False, id="not-a-string"),
        pytest.param(None, False, id="absent"),
    ],
)
def test_a_component_of_another_data_product(dp_id: Any, refused: bool) -> None:
    text = _text(_component(), dp_id=dp_id)
    if not refused:
        assert parse_descriptor(text).component_id == _id()
        return
    assert _problems(text) == [
        Problem(
            f"{C0}.id",
            f"belongs to {DP_ID}, not to this data product {dp_id}",
            "Provision the component with the descriptor of the data product it belongs to.",
        )
    ]


# -- specific --------------------------------------------------------------------------------------


@pytest.mark.parametrize("specific", [None, [1, 2], "text"], ids=["null", "list", "string"])
def test_specific_must_be_a_mapping(specific: Any) -> None:
    component = _component()
    component["specific"] = specific
    assert _problems(_text(component)) == [Problem(f"{C0}.specific", "is missing or not a mapping", ADD_SPECIFIC)]


def test_a_missing_specific_section() -> None:
    component = _component()
    del component["specific"]
    assert _problems(_text(component)) == [Problem(f"{C0}.specific", "is missing or not a mapping", ADD_SPECIFIC)]


@pytest.mark.parametrize("name", list(SPECIFIC))
@pytest.mark.parametrize(
    ("value", "message", "solution"),
    [
        pytest.param(..., "is missing", "Add specific.{name} to the workload component.", id="absent"),
        pytest.param(None, "is missing", "Add specific.{name} to the workload component.", id="null"),
        pytest.param(12, "must be a string, got int", "Quote specific.{name} so YAML reads it as a string.", id="int"),
        pytest.param(
            True, "must be a string, got bool", "Quote specific.{name} so YAML reads it as a string.", id="bool"
        ),
        pytest.param(
            ["a"], "must be a string, got list", "Quote specific.{name} so YAML reads it as a string.", id="list"
        ),
    ],
)
def test_each_specific_field_must_be_a_string(name: str, value: Any, message: str, solution: str) -> None:
    component = _component(**({} if value is ... else {name: value}))
    if value is ...:
        del component["specific"][name]
    assert _problems(_text(component)) == [Problem(f"{C0}.specific.{name}", message, solution.format(name=name))]


@pytest.mark.parametrize(
    ("name", "value", "message", "solution"),
    [
        pytest.param(
            "dagName",
            "..x.py",
            "must not start with '..'",
            "Use a file name like my_dag.py or my_dag.zip.",
            id="dagName",
        ),
        pytest.param(
            "scheduleCron",
            "* * *",
            "must be a 5-field cron expression (minute hour day month weekday) or an Airflow preset like @daily",
            "Use e.g. '5 5 * * *' or '@daily'.",
            id="scheduleCron",
        ),
        pytest.param(
            "sourcePath",
            "/abs",
            "must be relative to the bucket: remove the leading '/'",
            "Use a relative folder like 'source/'.",
            id="sourcePath",
        ),
        pytest.param(
            "destinationPath",
            "",
            "must name a folder, e.g. 'dags/'",
            "Use the MWAA DAG folder, e.g. 'dags/'.",
            id="destinationPath-empty",
        ),
        pytest.param(
            "bucketName",
            "arn:aws:s3:::b",
            "must be a bucket name, not an ARN",
            "Use the MWAA environment's bucket name.",
            id="bucketName",
        ),
    ],
)
def test_each_value_rule_names_its_field(name: str, value: str, message: str, solution: str) -> None:
    assert _problems(_text(_component(**{name: value}))) == [Problem(f"{C0}.specific.{name}", message, solution)]


def test_every_problem_of_the_component_is_reported_in_order() -> None:
    text = _text(_component(kind="storage", dagName="x.sql", bucketName="B"), dp_id="urn:dmb:dp:finance:other:1")
    assert [(p.field, p.message.split(",")[0]) for p in _problems(text)] == [
        (f"{C0}.kind", "must be 'workload'"),
        (f"{C0}.id", f"belongs to {DP_ID}"),
        (
            f"{C0}.specific.dagName",
            "must end with .py (a DAG file) or .zip (a packaged DAG); Airflow loads nothing else",
        ),
        (f"{C0}.specific.bucketName", "must be 3-63 characters of lowercase letters"),
    ]


# -- the keys the workload writes, at 1,024 bytes -------------------------------------------------

KEY_TOO_LONG = "the resulting S3 key is longer than 1024 bytes"
# staged key: <sourcePath>finance.invoices.1.my_dag.py (28 more bytes);
# deployed key: <destinationPath>finance_invoices_1_my_dag.py (28 more bytes)


def _folder(n_bytes: int, char: str = "s") -> str:
    """A folder path of exactly ``n_bytes`` UTF-8 bytes, trailing '/' included."""
    width = len(char.encode())
    body = char * ((n_bytes - 1) // width) + "x" * ((n_bytes - 1) % width)
    return body + "/"


@pytest.mark.parametrize("char", ["s", "é", "€"], ids=["ascii", "2-byte", "3-byte"])
@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param("sourcePath", "staged_key", id="staged"),
        pytest.param("destinationPath", "deployed_key", id="deployed"),
    ],
)
def test_the_keys_may_be_1024_bytes_not_1025(name: str, key: str, char: str) -> None:
    at_limit = _folder(1024 - 28, char)
    workload = parse_descriptor(_text(_component(**{name: at_limit})))
    assert len(getattr(workload, key).encode()) == 1024
    one_past = _folder(1024 - 27, char)
    assert _problems(_text(_component(**{name: one_past}))) == [
        Problem(f"{C0}.specific.{name}", KEY_TOO_LONG, "Shorten the path or the DAG name.")
    ]


def test_when_both_keys_are_too_long_the_staged_one_is_named() -> None:
    long = _folder(1000)
    assert _problems(_text(_component(sourcePath=long, destinationPath=long))) == [
        Problem(f"{C0}.specific.sourcePath", KEY_TOO_LONG, "Shorten the path or the DAG name.")
    ]


def test_the_key_is_measured_after_normalisation() -> None:
    """'a//b…//' (998 bytes as sent) is 'a/b…/' (996): its staged key is 1,024 bytes, not 1,026."""
    path = "a//" + "b" * 993 + "//"
    assert len(parse_descriptor(_text(_component(sourcePath=path))).staged_key) == 1024


# -- the bucket refusal ----------------------------------------------------------------------------


def test_a_refused_bucket_is_a_problem_and_the_hook_sees_the_bucket() -> None:
    asked: list[str] = []

    def refuse(bucket: str) -> str | None:
        asked.append(bucket)
        return "is not one this service deploys to"

    assert _problems(_text(_component()), bucket_refusal=refuse) == [
        Problem(
            f"{C0}.specific.bucketName",
            "bucket 'mwaa-bucket' is not one this service deploys to",
            "Use the MWAA environment's DAG bucket.",
        )
    ]
    assert asked == ["mwaa-bucket"]


@pytest.mark.parametrize("answer", [None, ""], ids=["none", "empty"])
def test_an_allowed_bucket_is_no_problem(answer: str | None) -> None:
    assert parse_descriptor(_text(_component()), bucket_refusal=lambda _: answer).bucket == "mwaa-bucket"


def test_the_hook_is_not_asked_about_an_invalid_workload() -> None:
    asked: list[str] = []
    problems = _problems(_text(_component(dagName="x.sql")), bucket_refusal=lambda b: asked.append(b) or "no")
    assert [p.field for p in problems] == [f"{C0}.specific.dagName"]
    assert asked == []


# -- collisions with the data product's other workloads -------------------------------------------


def _collision(index: int, deployed: str = "dags/finance_invoices_1_my_dag.py") -> Problem:
    return Problem(
        f"{C0}.specific.dagName",
        f"deploys to the same S3 key as dataProduct.components[{index}] ({deployed}); "
        "names differing only in characters outside [A-Za-z0-9_] collide",
        "Rename one of the DAGs.",
    )


@pytest.mark.parametrize(
    ("others", "expected"),
    [
        pytest.param([_component("b", dagName="my-dag.py")], [_collision(1)], id="sanitised-alike"),
        pytest.param([_component("b", dagName="my_dag.zip")], [_collision(1)], id="same-descriptor-key"),
        pytest.param(
            ["text", {"id": "bad id", "kind": "workload", "specific": SPECIFIC}, _component("b")],
            [_collision(3)],
            id="after-a-string-and-a-bad-id",
        ),
        pytest.param([_component("b"), _component("c")], [_collision(1), _collision(2)], id="two-others"),
        pytest.param([_component("b", dagName="other.py")], [], id="another-name"),
        pytest.param([_component("b", bucketName="other-bucket")], [], id="another-bucket"),
        pytest.param([_component("b", destinationPath="other/")], [], id="another-folder"),
        pytest.param([_component("b", kind="storage")], [], id="not-a-workload"),
        pytest.param([_component("b", scheduleCron="nope")], [], id="an-invalid-workload"),
        pytest.param([{"kind": "workload", "specific": SPECIFIC}], [], id="no-id"),
        pytest.param(["text", 5, None], [], id="not-components"),
    ],
)
def test_deployed_key_collisions(others: list[Any], expected: list[Problem]) -> None:
    text = _text(_component(), *others)
    if expected:
        assert _problems(text) == expected
    else:
        assert parse_descriptor(text).component_id == _id()


def test_the_provisioned_component_is_not_its_own_collision_at_any_index() -> None:
    text = _text(_component("b", dagName="other.py"), _component("c", dagName="third.py"), _component())
    workload = parse_descriptor(text)
    assert workload.field == "dataProduct.components[2]"
    text = _text(_component("b"), _component(), provision=_id())
    assert _problems(text) == [
        Problem(
            "dataProduct.components[1].specific.dagName",
            _collision(0).message,
            "Rename one of the DAGs.",
        )
    ]


# -- from a ProvisioningRequest --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", [DescriptorKind.DATAPRODUCT_DESCRIPTOR, DescriptorKind.DATAPRODUCT_DESCRIPTOR_WITH_RESULTS]
)
def test_only_component_descriptors_are_provisioned(kind: DescriptorKind) -> None:
    request = ProvisioningRequest(descriptor_kind=kind, descriptor=_text(_component()), remove_data=False)
    with pytest.raises(RequestInvalid) as info:
        workload_of(request)
    assert info.value.message == "The request is not a valid ProvisioningRequest"
    assert info.value.problems == (
        Problem(
            "descriptorKind",
            f"{kind.value} is not supported: this provisioner deploys one component at a time",
            "Send COMPONENT_DESCRIPTOR with componentIdToProvision.",
        ),
    )


def test_a_component_descriptor_request_is_parsed_with_the_bucket_hook() -> None:
    request = ProvisioningRequest(
        descriptor_kind=DescriptorKind.COMPONENT_DESCRIPTOR, descriptor=_text(_component()), remove_data=False
    )
    assert workload_of(request).component_id == _id()
    with pytest.raises(DescriptorInvalid) as info:
        workload_of(request, bucket_refusal=lambda b: "is refused")
    assert [p.message for p in info.value.problems] == ["bucket 'mwaa-bucket' is refused"]
