"""What Terraform plans and leaves, as values: a plan's change counts, a deployed object's
fingerprint, and the deployment the last apply left (pure: the stores, the engine and the S3
adapter all speak these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChangeSummary:
    add: int = 0
    change: int = 0
    destroy: int = 0
    imported: int = 0
    """Existing objects the plan imports (adoption, reverse provisioning)."""

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.destroy or self.imported)

    def as_dict(self) -> dict[str, int]:
        return {"add": self.add, "change": self.change, "destroy": self.destroy, "import": self.imported}

    def __str__(self) -> str:
        imported = f"{self.imported} to import, " if self.imported else ""
        return f"{imported}{self.add} to add, {self.change} to change, {self.destroy} to destroy"


@dataclass(frozen=True)
class ObjectFingerprint:
    """What Terraform's Read of an ``aws_s3_object`` sees, reduced to a comparable value."""

    etag: str
    headers: tuple[tuple[str, str], ...]
    tags: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"etag": self.etag, "headers": list(self.headers), "tags": list(self.tags)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ObjectFingerprint:
        return cls(
            etag=str(raw["etag"]),
            headers=tuple((str(k), str(v)) for k, v in raw["headers"]),
            tags=tuple((str(k), str(v)) for k, v in raw["tags"]),
        )


@dataclass(frozen=True)
class Deployed:
    """What the last successful apply left, as recorded."""

    inputs_digest: str
    state_fingerprint: str | None
    objects: dict[str, ObjectFingerprint]
