"""What a refresh would read — the state and the deployed objects — reduced to fingerprints, read
concurrently. The fast no-op check and the fast drift check compare them with what the last apply
left (``service.store.registry.Deployed``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Executor

from service.aws.s3 import S3, Dispatch
from service.domain.deployment import Deployed, ObjectFingerprint
from service.engine.state_backend import StateBackend

Observation = tuple[str | None, dict[str, ObjectFingerprint] | None]
"""(state fingerprint, deployed object fingerprints or None if any object is missing)."""


class Fingerprints:
    def __init__(self, s3: S3, backend: StateBackend, io: Executor) -> None:
        """``io``: short reads issued side by side (sized for one fingerprint check per running job)."""
        self.s3 = s3
        self.backend = backend
        self._io = io

    def state_fingerprint(self, state_key: str) -> str | None:
        state = self.backend.read(state_key)
        return None if state is None else hashlib.sha256(state).hexdigest()

    def start(
        self, bucket: str, keys: list[str], state_key: str, dispatch: Dispatch | None = None
    ) -> Callable[[], Observation]:
        """Start reading (each read counted by ``dispatch``); call the result to wait for the observation."""
        counted = Dispatch() if dispatch is None else dispatch  # a count nobody waits for costs a lock
        state = self._io.submit(counted.track(self.state_fingerprint), state_key)
        objects = self.s3.start_fingerprints(bucket, keys, self._io, counted)

        def collect() -> Observation:
            found = objects()
            complete = {k: v for k, v in found.items() if v is not None}
            return state.result(), complete if len(complete) == len(found) else None

        return collect


def matches(recorded: Deployed, inputs_digest: str | None, observed: Observation) -> bool:
    """True when what is observed is exactly what the last apply left (with the same inputs, unless
    ``inputs_digest`` is None: a drift check compares the deployment only)."""
    state, objects = observed
    return (
        (inputs_digest is None or recorded.inputs_digest == inputs_digest)
        and recorded.state_fingerprint is not None
        and state == recorded.state_fingerprint
        and objects == recorded.objects
    )
