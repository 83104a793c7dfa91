"""moto's server, with S3's ETags under KMS encryption as AWS gives them.

S3 returns the MD5 of the bytes as ETag only for single-part uploads without encryption or with
SSE-S3; under SSE-KMS and DSSE-KMS the ETag is opaque and differs between two uploads of the same
bytes. moto (5.2.5) always answers the MD5, which would hide every bug that assumes MD5 ETags on an
encrypted bucket (the MWAA buckets production runs are often KMS-encrypted). Run as
``python -m tests.support.moto_server <moto.server arguments>``.
"""

from __future__ import annotations

import secrets
import sys
from typing import Any

from moto.s3.models import FakeKey
from moto.server import main

_OPAQUE = ("aws:kms", "aws:kms:dsse")
_md5_etag = FakeKey.etag


def _etag(key: Any) -> str:
    if key.encryption in _OPAQUE:
        # One per stored object (a new upload is a new FakeKey): stable for reads, never the MD5.
        if getattr(key, "_opaque_etag", None) is None:
            key._opaque_etag = secrets.token_hex(16)
        return f'"{key._opaque_etag}"'
    return str(_md5_etag.fget(key))  # type: ignore[attr-defined]


FakeKey.etag = property(_etag)  # type: ignore[method-assign,assignment]

if __name__ == "__main__":
    main(sys.argv[1:])
