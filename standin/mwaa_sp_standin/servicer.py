"""The gRPC servicer of the stand-in: tf's ``ProviderServicer`` with SDKv2's resource lifecycle.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from tf.gen import tfplugin_pb2 as pb
from tf.iface import (
    CreateContext,
    DeleteContext,
    ImportContext,
    ReadContext,
    UpdateContext,
    UpgradeContext,
)
from tf.provider import ProviderServicer
from tf.utils import Diagnostics, read_dynamic_value, to_dynamic_value

from mwaa_sp_standin import gate, iam_policy
from mwaa_sp_standin.aws_provider import AwsStandinProvider
from mwaa_sp_standin.s3_object import RESOURCE_TYPE, S3Object
from mwaa_sp_standin.s3_object_plan import StandinPlanContext, complete_state
from mwaa_sp_standin.schema import provider_meta_schema, provider_schema, s3_object_schema
from mwaa_sp_standin.values import State, unknown_as_null

__all__ = ["StandinServicer", "encode_value"]


# msgpack's encoding of nil: a null object (the resource is gone / to be destroyed).
_NULL_OBJECT = b"\xc0"


def encode_value(value: Any) -> pb.DynamicValue:
    """A DynamicValue for Terraform (msgpack; unknown values as cty's unknown extension)."""
    if value is None:
        return pb.DynamicValue(msgpack=_NULL_OBJECT)
    return to_dynamic_value(value)


_T = TypeVar("_T")


def _guarded(response_cls: Callable[..., _T]) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """Turn an unexpected exception into an error diagnostic instead of a bare gRPC failure."""

    def decorator(method: Callable[..., _T]) -> Callable[..., _T]:
        def wrapper(self: Any, request: Any, context: Any) -> _T:
            try:
                return method(self, request, context)
            except Exception as exc:
                traceback.print_exc()
                diags = Diagnostics().add_error(
                    "Stand-in provider internal error",
                    f"{type(exc).__name__}: {exc} (in {method.__name__})",
                )
                return response_cls(diagnostics=diags.to_pb())

        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return wrapper

    return decorator


def _held_at_gate(request: Any) -> Any:
    """Pass the test gate of ``apply``; the error response when Terraform stopped the call there."""
    try:
        gate.checkpoint("apply")
    except gate.Stopped as exc:
        diags = Diagnostics().add_error("Operation stopped", str(exc))
        return pb.ApplyResourceChange.Response(
            new_state=request.prior_state, diagnostics=diags.to_pb(), legacy_type_system=True
        )
    return None


class StandinServicer(ProviderServicer):  # type: ignore[misc]  # tf is untyped
    """tf's ProviderServicer with the resource lifecycle done the way SDKv2 providers do it.

    Fixes over tf 1.2.0: the create plan goes through the resource's plan() (the framework plans
    creates itself and never asks the resource); PlanResourceChange gets the configuration and
    returns requires_replace from the resource; Plan/Apply responses set ``legacy_type_system`` like
    every SDKv2 resource (Terraform then tolerates the stale-etag plan and force_destroy's default);
    destroy plans (plan_destroy capability) are answered; provider_meta has the real schema; states
    are always complete objects.
    """

    def __init__(self, app: AwsStandinProvider) -> None:
        super().__init__(app)
        self._schema_response: pb.GetProviderSchema.Response | None = None

    def _resource(self, type_name: str) -> S3Object:
        klass = self._get_res_cls(type_name)
        inst = self.app.new_resource(klass)
        if not isinstance(inst, S3Object):
            raise TypeError(f"unexpected resource class for {type_name}: {type(inst).__name__}")
        return inst

    def GetMetadata(self, request: pb.GetMetadata.Request, context: Any) -> Any:
        return pb.GetMetadata.Response(
            server_capabilities=pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True),
            resources=[pb.GetMetadata.ResourceMetadata(type_name=t) for t in (RESOURCE_TYPE, *iam_policy.TYPES)],
        )

    def GetProviderSchema(self, request: pb.GetProviderSchema.Request, context: Any) -> Any:
        if self._schema_response is None:
            self._schema_response = pb.GetProviderSchema.Response(
                provider=provider_schema().to_pb(),
                provider_meta=provider_meta_schema(),
                resource_schemas={
                    RESOURCE_TYPE: s3_object_schema().to_pb(),
                    **{t: iam_policy.schema(t).to_pb() for t in iam_policy.TYPES},
                },
                data_source_schemas={},
                server_capabilities=pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True),
            )
        return self._schema_response

    # The framework's versions of these three re-raise exceptions as bare gRPC errors.
    @_guarded(pb.ValidateProviderConfig.Response)
    def ValidateProviderConfig(self, request: pb.ValidateProviderConfig.Request, context: Any) -> Any:
        return super().ValidateProviderConfig(request, context)

    @_guarded(pb.ConfigureProvider.Response)
    def ConfigureProvider(self, request: pb.ConfigureProvider.Request, context: Any) -> Any:
        return super().ConfigureProvider(request, context)

    @_guarded(pb.ValidateResourceConfig.Response)
    def ValidateResourceConfig(self, request: pb.ValidateResourceConfig.Request, context: Any) -> Any:
        if request.type_name in iam_policy.TYPES:
            diags = Diagnostics()
            iam_policy.validate(request.type_name, read_dynamic_value(request.config) or {}, diags)
            return pb.ValidateResourceConfig.Response(diagnostics=diags.to_pb())
        return super().ValidateResourceConfig(request, context)

    @_guarded(pb.UpgradeResourceState.Response)
    def UpgradeResourceState(self, request: pb.UpgradeResourceState.Request, context: Any) -> Any:
        diags = Diagnostics()
        if not request.raw_state.json:
            diags.add_error(
                "UpgradeResourceState from a flatmap state is not supported",
                "The state was written by Terraform < 0.12; re-import the object.",
            )
            return pb.UpgradeResourceState.Response(diagnostics=diags.to_pb())
        import json

        old = json.loads(request.raw_state.json)
        if request.type_name in iam_policy.TYPES:
            upgraded = iam_policy.complete(request.type_name, old)
            return pb.UpgradeResourceState.Response(upgraded_state=encode_value(upgraded), diagnostics=diags.to_pb())
        inst = self._resource(request.type_name)
        state = inst.upgrade(UpgradeContext(diags, request.type_name), request.version, old)
        return pb.UpgradeResourceState.Response(upgraded_state=encode_value(state), diagnostics=diags.to_pb())

    def StopProvider(self, request: pb.StopProvider.Request, context: Any) -> Any:
        """Terraform was interrupted: calls in flight should return (SDKv2 cancels their contexts)."""
        gate.stopping.set()
        return pb.StopProvider.Response()

    @_guarded(pb.ReadResource.Response)
    def ReadResource(self, request: pb.ReadResource.Request, context: Any) -> Any:
        diags = Diagnostics()
        current = read_dynamic_value(request.current_state)
        gate.checkpoint("read")
        if current is None:
            return pb.ReadResource.Response(new_state=encode_value(None), diagnostics=diags.to_pb())
        if request.type_name in iam_policy.TYPES:
            found = iam_policy.read(request.type_name, self.app.iam(), current, diags)
            return pb.ReadResource.Response(
                new_state=encode_value(found), diagnostics=diags.to_pb(), private=request.private
            )
        new_state = self._resource(request.type_name).read(ReadContext(diags, request.type_name), current)
        return pb.ReadResource.Response(
            new_state=encode_value(None if new_state is None else complete_state(new_state)),
            diagnostics=diags.to_pb(),
            private=request.private,
        )

    @_guarded(pb.PlanResourceChange.Response)
    def PlanResourceChange(self, request: pb.PlanResourceChange.Request, context: Any) -> Any:
        diags = Diagnostics()
        prior = read_dynamic_value(request.prior_state)
        proposed = read_dynamic_value(request.proposed_new_state)
        config = read_dynamic_value(request.config) or {}
        if proposed is None:
            # Destroy plan: nothing to decide (the SDK returns the proposed null as is).
            return pb.PlanResourceChange.Response(
                planned_state=encode_value(None),
                planned_private=request.prior_private,
                legacy_type_system=True,
            )
        gate.checkpoint("plan")
        if request.type_name in iam_policy.TYPES:
            return self._plan_iam(request, prior, proposed, config)
        ctx = StandinPlanContext(diags, request.type_name, changed_fields=set(), config=config)
        planned = self._resource(request.type_name).plan(ctx, prior, proposed)
        if planned is None or diags.has_errors():
            return pb.PlanResourceChange.Response(diagnostics=diags.to_pb(), legacy_type_system=True)
        if prior is not None and not ctx.requires_replace and complete_state(planned) == complete_state(prior):
            # No diff: SDKv2 answers with the prior state itself, so Terraform sees "No changes".
            planned_state = request.prior_state
        else:
            planned_state = encode_value(complete_state(planned))
        return pb.PlanResourceChange.Response(
            planned_state=planned_state,
            requires_replace=[
                pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=p[0])]) for p in ctx.requires_replace
            ],
            planned_private=request.prior_private,
            diagnostics=diags.to_pb(),
            legacy_type_system=True,
        )

    @_guarded(pb.ApplyResourceChange.Response)
    def ApplyResourceChange(self, request: pb.ApplyResourceChange.Request, context: Any) -> Any:
        diags = Diagnostics()
        type_name = request.type_name
        prior = read_dynamic_value(request.prior_state)
        planned = read_dynamic_value(request.planned_state)
        if type_name in iam_policy.TYPES:
            return self._apply_iam(request, prior, planned)
        inst = self._resource(type_name)
        stopped = _held_at_gate(request)
        if stopped is not None:
            return stopped
        new_state: State | None
        if planned is None:
            if prior is not None:
                inst.delete(DeleteContext(diags, type_name), prior)
            new_state = None if not diags.has_errors() else prior
        elif prior is None:
            new_state = inst.create(CreateContext(diags, type_name), planned)
        else:
            new_state = inst.update(UpdateContext(diags, type_name), prior, planned)
        return pb.ApplyResourceChange.Response(
            new_state=encode_value(None if new_state is None else complete_state(unknown_as_null(new_state))),
            private=request.planned_private,
            diagnostics=diags.to_pb(),
            legacy_type_system=True,
        )

    def _plan_iam(self, request: Any, prior: State | None, proposed: State, config: Any) -> Any:
        planned, replace = iam_policy.plan(request.type_name, prior, proposed, config)
        if prior is not None and not replace and planned == iam_policy.complete(request.type_name, prior):
            planned_state = request.prior_state  # no diff: SDKv2 answers with the prior state itself
        else:
            planned_state = encode_value(planned)
        return pb.PlanResourceChange.Response(
            planned_state=planned_state,
            requires_replace=[pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=a)]) for a in replace],
            planned_private=request.prior_private,
            legacy_type_system=True,
        )

    def _apply_iam(self, request: Any, prior: State | None, planned: State | None) -> Any:
        diags = Diagnostics()
        client = self.app.iam()
        if planned is None:
            if prior is not None:
                iam_policy.delete(request.type_name, client, prior, diags)
            new_state = None if not diags.has_errors() else prior
        else:
            stopped = _held_at_gate(request)
            if stopped is not None:
                return stopped
            new_state = iam_policy.apply(request.type_name, client, planned, diags)
        return pb.ApplyResourceChange.Response(
            new_state=encode_value(new_state),
            private=request.planned_private,
            diagnostics=diags.to_pb(),
            legacy_type_system=True,
        )

    @_guarded(pb.ImportResourceState.Response)
    def ImportResourceState(self, request: pb.ImportResourceState.Request, context: Any) -> Any:
        diags = Diagnostics()
        if request.type_name in iam_policy.TYPES:
            found = iam_policy.import_state(request.type_name, self.app.iam(), request.id, diags)
            imported = (
                [pb.ImportResourceState.ImportedResource(type_name=request.type_name, state=encode_value(found))]
                if found is not None and not diags.has_errors()
                else []
            )
            return pb.ImportResourceState.Response(imported_resources=imported, diagnostics=diags.to_pb())
        state = self._resource(request.type_name).import_(ImportContext(diags, request.type_name), request.id)
        imported = (
            [pb.ImportResourceState.ImportedResource(type_name=request.type_name, state=encode_value(state))]
            if state is not None and not diags.has_errors()
            else []
        )
        return pb.ImportResourceState.Response(imported_resources=imported, diagnostics=diags.to_pb())
