"""The domain model: one workload component, fully named. No YAML, no HTTP, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from service.domain.naming import ComponentUrn, dag_id_of, deployed_dag_file, descriptor_file

DagKind = Literal["text", "binary"]


@dataclass(frozen=True)
class Workload:
    component_id: str
    urn: ComponentUrn
    dag_name: str
    schedule_cron: str
    source_path: str
    """Normalised: no leading '/', one trailing '/', or empty for the bucket root."""
    destination_path: str
    bucket: str
    descriptor_yaml: str
    """The data product descriptor deployed next to the DAG (DAG code reads it from ``__file__``)."""
    field: str = "dataProduct.components[0]"
    """Where the component sits in the request, for error messages."""

    @property
    def staged_key(self) -> str:
        return f"{self.source_path}{self.urn.dotted_prefix}.{self.dag_name}"

    @property
    def deployed_file(self) -> str:
        return deployed_dag_file(self.urn, self.dag_name)

    @property
    def deployed_key(self) -> str:
        return f"{self.destination_path}{self.deployed_file}"

    @property
    def descriptor_key(self) -> str:
        return f"{self.destination_path}{descriptor_file(self.deployed_file)}"

    @property
    def dag_kind(self) -> DagKind:
        return "binary" if self.dag_name.endswith(".zip") else "text"

    @property
    def dag_id(self) -> str:
        return dag_id_of(self.deployed_file)

    @property
    def workload_key(self) -> str:
        """``<domain>/<dataproduct>/<major>/<name>``: unique per component, safe as a path."""
        u = self.urn
        return f"{u.domain}/{u.data_product}/{u.major}/{u.name}"

    def tags(self) -> dict[str, str]:
        return {
            "witboost:component-id": self.component_id,
            "witboost:data-product-id": self.urn.data_product_id,
            "managed-by": "mwaa-sp",
        }
