"""Every argv builder's exact argv, with each non-default option: what Terraform is asked to do is
the whole contract of ``service.engine.args`` (the defaults are pinned in test_engine_args). Each argv
is built when its test runs, not when the table is collected, so a changed builder is seen."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.engine import args

COMMON = ["-input=false", "-no-color"]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        pytest.param(
            lambda: args.init_args("other/backend.hcl"),
            ["init", *COMMON, "-backend-config=other/backend.hcl", "-reconfigure"],
            id="init-other-backend",
        ),
        pytest.param(
            lambda: args.plan_args("x.tfplan", destroy=True, lock_timeout_s=7),
            ["plan", *COMMON, "-lock-timeout=7s", "-json", "-detailed-exitcode", "-out=x.tfplan", "-destroy"],
            id="plan-destroy-lock-7",
        ),
        pytest.param(
            lambda: args.plan_args(refresh_only=True),
            ["plan", *COMMON, "-lock-timeout=120s", "-json", "-detailed-exitcode", "-out=plan.tfplan", "-refresh-only"],
            id="plan-refresh-only",
        ),
        pytest.param(
            lambda: args.plan_args(destroy=True, refresh_only=True, replace=["a.b", 'c.d["k"]'], lock_timeout_s=0),
            [
                "plan",
                *COMMON,
                "-lock-timeout=0s",
                "-json",
                "-detailed-exitcode",
                "-out=plan.tfplan",
                "-destroy",
                "-refresh-only",
                "-replace=a.b",
                '-replace=c.d["k"]',
            ],
            id="plan-every-option",
        ),
        pytest.param(
            lambda: args.plan_args(replace=[]),
            ["plan", *COMMON, "-lock-timeout=120s", "-json", "-detailed-exitcode", "-out=plan.tfplan"],
            id="plan-replace-nothing",
        ),
        pytest.param(
            lambda: args.apply_args("other.tfplan", 3600),
            ["apply", *COMMON, "-lock-timeout=3600s", "-json", "-auto-approve", "other.tfplan"],
            id="apply-other-plan-lock-3600",
        ),
        pytest.param(
            lambda: args.apply_args(lock_timeout_s=1),
            ["apply", *COMMON, "-lock-timeout=1s", "-json", "-auto-approve", "plan.tfplan"],
            id="apply-lock-1",
        ),
        pytest.param(lambda: args.show_args(as_json=False), ["show", "-no-color", "plan.tfplan"], id="show-text"),
        pytest.param(
            lambda: args.show_args("other.tfplan", as_json=True),
            ["show", "-no-color", "-json", "other.tfplan"],
            id="show-json",
        ),
        pytest.param(lambda: args.state_list_args(), ["state", "list"], id="state-list"),
        pytest.param(
            lambda: args.state_rm_args(["aws_s3_object.dag", "aws_s3_object.descriptor"]),
            ["state", "rm", "-lock-timeout=120s", "aws_s3_object.dag", "aws_s3_object.descriptor"],
            id="state-rm-default-lock",
        ),
        pytest.param(
            lambda: args.state_rm_args(['module.m.aws_iam_policy.p["x"]'], lock_timeout_s=15),
            ["state", "rm", "-lock-timeout=15s", 'module.m.aws_iam_policy.p["x"]'],
            id="state-rm-lock-15",
        ),
        pytest.param(lambda: args.state_rm_args([]), ["state", "rm", "-lock-timeout=120s"], id="state-rm-nothing"),
    ],
)
def test_argv_is_exact(build: Callable[[], list[str]], expected: list[str]) -> None:
    assert build() == expected


def test_builders_return_fresh_lists() -> None:
    """A caller appending to one argv must not change the next (the common flags are shared)."""
    first = args.plan_args()
    first.append("-target=x")
    assert args.plan_args() == [
        "plan",
        *COMMON,
        "-lock-timeout=120s",
        "-json",
        "-detailed-exitcode",
        "-out=plan.tfplan",
    ]
    init = args.init_args("b")
    init.clear()
    assert args.init_args("b") == ["init", *COMMON, "-backend-config=b", "-reconfigure"]


def test_the_default_lock_timeout_and_plan_file() -> None:
    assert (args.LOCK_TIMEOUT_S, args.PLAN_FILE) == (120, "plan.tfplan")
