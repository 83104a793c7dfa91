from __future__ import annotations

from service.engine import args
from service.engine.results import CommandResult, parse_run
from service.engine.runner import terraform_environment


def test_argv_builders_are_exact() -> None:
    assert args.init_args("backend.json") == [
        "init",
        "-input=false",
        "-no-color",
        "-backend-config=backend.json",
        "-reconfigure",
    ]
    assert args.plan_args() == [
        "plan",
        "-input=false",
        "-no-color",
        "-lock-timeout=120s",
        "-json",
        "-detailed-exitcode",
        "-out=plan.tfplan",
    ]
    assert args.plan_args(destroy=True)[-1] == "-destroy"
    assert args.plan_args("d.tfplan", refresh_only=True, replace=["a.b"])[-3:] == [
        "-out=d.tfplan",
        "-refresh-only",
        "-replace=a.b",
    ]
    assert args.apply_args() == [
        "apply",
        "-input=false",
        "-no-color",
        "-lock-timeout=120s",
        "-json",
        "-auto-approve",
        "plan.tfplan",
    ]
    assert args.show_args(as_json=True) == ["show", "-no-color", "-json", "plan.tfplan"]


def test_environment_is_owned_by_the_runner() -> None:
    env = terraform_environment(
        {
            "PATH": "/bin",
            "TF_LOG": "TRACE",
            "TF_VAR_bucket": "evil",
            "TF_WORKSPACE": "x",
            "TF_CLI_ARGS_plan": "-x",
        },
        {"AWS_REGION": "eu-west-1"},
    )
    assert env == {
        "PATH": "/bin",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "AWS_REGION": "eu-west-1",
    }


def test_json_stream_is_classified() -> None:
    stdout = "\n".join(
        [
            '{"type":"version","terraform":"1.15.5"}',
            '{"type":"change_summary","changes":{"add":1,"change":2,"remove":3,"operation":"plan"}}',
            '{"type":"diagnostic","@level":"error","diagnostic":{"severity":"error","summary":"Boom","detail":"why"}}',
            "not json",
        ]
    )
    outcome = parse_run(CommandResult(("plan",), 1, stdout, ""))
    assert outcome.summary.as_dict() == {"add": 1, "change": 2, "destroy": 3, "import": 0}
    assert outcome.errors == ["Boom: why"]


def test_errors_before_the_json_stream_come_from_stderr() -> None:
    outcome = parse_run(CommandResult(("apply",), 1, "", "Error: Failed to load plan\nmore"))
    assert outcome.errors[0].startswith("Error: Failed to load plan")


def test_failures_are_classified_from_terraforms_words() -> None:
    from service.engine.failures import failure
    from service.errors import EndpointUnreachable, StateLocked, TerraformFailed

    refused = ["reading S3 Object: dial tcp 127.0.0.1:9: connect: connection refused"]
    unreachable = failure("apply", refused)
    assert type(unreachable) is EndpointUnreachable
    assert str(unreachable).startswith("terraform apply failed (the S3 endpoint was unreachable): ")
    locked = failure("plan", ["Error acquiring the state lock: ConditionalCheckFailed"])
    assert type(locked) is StateLocked
    assert "(the workload's Terraform state is locked by another run)" in str(locked)
    plain = failure("plan", ["Invalid index"])
    assert type(plain) is TerraformFailed
    assert str(plain) == "terraform plan failed: Invalid index"
