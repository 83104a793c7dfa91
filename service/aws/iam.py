"""The IAM and STS calls the service makes itself (updateacl): whether a principal exists, the sizes
of its inline policies, the account. boto3's errors become :class:`~service.errors.StorageError`
here; every call is bounded (3 s to connect, 10 s to read, 3 attempts)."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.domain.iam_quota import characters
from service.domain.principals import Principal
from service.errors import StorageError
from service.settings import AwsAccess

_GET = {"user": "get_user", "group": "get_group", "role": "get_role"}
_NAME = {"user": "UserName", "group": "GroupName", "role": "RoleName"}


class Iam:
    def __init__(self, aws: AwsAccess) -> None:
        config = Config(retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=10)
        session = boto3.session.Session(**aws.boto3_credentials)
        self.client = session.client("iam", region_name="us-east-1", endpoint_url=aws.iam_endpoint, config=config)
        self.sts = session.client("sts", region_name=aws.region, endpoint_url=aws.sts_endpoint, config=config)
        self._account: str | None = None
        self._lock = threading.Lock()

    def exists(self, principal: Principal) -> bool:
        try:
            getattr(self.client, _GET[principal.kind])(**{_NAME[principal.kind]: principal.name})
        except self.client.exceptions.NoSuchEntityException:
            return False
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(
                f"IAM could not be asked whether the {principal.kind} {principal.name!r} exists: {exc}"
            ) from exc
        return True

    def inline_policies(self, principal: Principal) -> dict[str, int]:
        """The principal's inline policies: name → characters of its document, as IAM counts them
        (without whitespace) towards the principal's aggregate quota."""
        kind, key = principal.kind, _NAME[principal.kind]
        try:
            names: list[str] = []
            for page in self.client.get_paginator(f"list_{kind}_policies").paginate(**{key: principal.name}):
                names += page["PolicyNames"]
            sizes = {}
            for name in names:
                found = getattr(self.client, f"get_{kind}_policy")(**{key: principal.name, "PolicyName": name})
                sizes[name] = characters(_document(found["PolicyDocument"]))
            return sizes
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"IAM could not list the inline policies of {principal}: {exc}") from exc

    def account(self) -> str:
        with self._lock:
            if self._account is None:
                try:
                    self._account = str(self.sts.get_caller_identity()["Account"])
                except (ClientError, BotoCoreError) as exc:
                    raise StorageError(f"STS could not tell the AWS account (GetCallerIdentity): {exc}") from exc
            return self._account


def _document(found: Any) -> str:
    """boto3 hands the document back parsed (a dict) or, from some endpoints, as (URL-decoded) text."""
    return found if isinstance(found, str) else json.dumps(found)
