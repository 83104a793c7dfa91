"""A workload's root module rendered as a workspace would, its backend the workload's own state."""

from __future__ import annotations

from service.aws.etags import BucketEtags
from service.domain.workload import Workload
from service.engine.render import RenderedModule, Renderer
from service.engine.state_backend import StateBackend
from service.settings import Settings


def rendered(
    settings: Settings, workload: Workload, dag: bytes | None, etags: BucketEtags | None = None
) -> RenderedModule:
    states = StateBackend(settings.states, None)
    renderer = Renderer(settings.rendering, etags)
    return renderer.render(workload, dag, states.config(states.key(workload.workload_key)))
