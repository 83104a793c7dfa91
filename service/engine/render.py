"""Workload → the files of its Terraform root module.

Templates only ever see settings (backend kind, whether the S3 endpoint is emulated); everything
derived from a descriptor goes to ``terraform.tfvars.json`` and ``backend.json``, which Terraform
reads as data. A hostile ``dagName`` therefore cannot become HCL, whatever it contains.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from service import __version__
from service.aws.etags import BucketEtags
from service.domain.workload import Workload
from service.errors import StorageError
from service.settings import Rendering

BACKEND_CONFIG = "backend.json"
TFVARS = "terraform.tfvars.json"
MODULE_PATH = "modules/workload"
ARTIFACTS = "artifacts"


@dataclass(frozen=True)
class RenderedModule:
    """Relative path → bytes of every file the root module consists of."""

    files: dict[str, bytes]

    @property
    def digest(self) -> str:
        """Changes whenever any byte Terraform would read changes (config, variables, artifacts)."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode())
            h.update(b"\0")
            h.update(hashlib.sha256(self.files[name]).digest())
        return h.hexdigest()

    def text(self, name: str) -> str:
        return self.files[name].decode("utf-8")


class Renderer:
    """Loads the templates and the static module once. ``render`` is pure but for one input, the
    bucket's change tracking, which ``etags`` looks up (and remembers) per bucket."""

    def __init__(self, rendering: Rendering, etags: BucketEtags | None = None) -> None:
        self.rendering = rendering
        self.etags = etags or BucketEtags(rendering.bucket_encryption, None)
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(rendering.templates_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - HCL, not HTML; no descriptor value reaches a template
            keep_trailing_newline=True,
        )
        module_dir = rendering.module_dir
        if not module_dir.is_dir():
            raise StorageError(f"Terraform module directory {module_dir} does not exist")
        self._module = {f"{MODULE_PATH}/{p.name}": p.read_bytes() for p in sorted(module_dir.glob("*.tf"))}
        static = hashlib.sha256(b"".join(self._module.values())).hexdigest()[:12]
        self.module_version = f"{__version__}+{static}"
        """Which service release and which static module a workload was last applied with."""

    def render(
        self, workload: Workload, dag: bytes | None, backend: dict[str, Any], adopt: dict[str, str] | None = None
    ) -> RenderedModule:
        """``dag`` is the staged DAG's bytes, or ``None`` when only a destroy will run; ``backend`` is
        the ``backend.json`` of its state (``StateBackend.config``); ``adopt`` maps resources
        (dag_text, dag_binary, descriptor) to objects to import instead of create."""
        spec: dict[str, Any] = {
            "bucket": workload.bucket,
            "dag_key": workload.deployed_key,
            "dag_kind": workload.dag_kind,
            "descriptor_key": workload.descriptor_key,
            "descriptor_content": workload.descriptor_yaml,
            "opaque_etags": self.etags.opaque(workload.bucket),
            "tags": workload.tags(),
        }
        artifacts: dict[str, bytes] = {}
        if workload.dag_kind == "binary" and dag is not None:
            artifact = f"{ARTIFACTS}/{workload.deployed_file}"
            artifacts[artifact] = dag
            spec["dag_source"] = artifact
            spec["dag_source_md5"] = hashlib.md5(dag).hexdigest()  # noqa: S324 - S3's etag, not security
        else:
            spec["dag_content"] = "" if dag is None else dag.decode("utf-8")
        return self.render_spec(spec, backend, artifacts, adopt)

    def _root(self, template: str) -> str:
        """A root module's HCL: templates see settings only, never a descriptor value."""
        return str(
            self._env.get_template(template).render(
                service_version=__version__,
                backend_config=BACKEND_CONFIG,
                state_backend=self.rendering.state_backend,
                emulated_endpoint=self.rendering.emulator,
            )
        )

    def render_acl(self, grants: dict[str, dict[str, str]], backend: dict[str, Any]) -> RenderedModule:
        """An ACL root module (a principal's one policy, in its own state); ``grants`` travel in
        ``terraform.tfvars.json`` like every other value."""
        r = self.rendering
        main = self._root("acl.tf.j2")
        tfvars = {"aws_region": r.region, "aws_max_retries": r.max_retries, "grants": grants}
        return RenderedModule(
            {
                "main.tf": main.encode(),
                TFVARS: (json.dumps(tfvars, indent=2, ensure_ascii=False) + "\n").encode(),
                BACKEND_CONFIG: (json.dumps(backend, indent=2) + "\n").encode(),
            }
        )

    def render_spec(
        self,
        spec: dict[str, Any],
        backend: dict[str, Any],
        artifacts: dict[str, bytes] | None = None,
        adopt: dict[str, str] | None = None,
    ) -> RenderedModule:
        """The root module for the module's input values ``spec`` (also used to rebuild a working
        directory from a Terraform state, where no descriptor is at hand)."""
        r = self.rendering
        main = self._root("main.tf.j2")
        files: dict[str, bytes] = {"main.tf": main.encode(), **self._module, **(artifacts or {})}
        tfvars = {"aws_region": r.region, "aws_max_retries": r.max_retries, "workload": spec}
        if adopt:
            tfvars["adopt"] = adopt
        files[TFVARS] = (json.dumps(tfvars, indent=2, ensure_ascii=False) + "\n").encode()
        files[BACKEND_CONFIG] = (json.dumps(backend, indent=2) + "\n").encode()
        return RenderedModule(files)


def write_module(module: RenderedModule, workdir: Path) -> None:
    """Write the files atomically and drop files an earlier render left behind (e.g. an old
    artifact), keeping Terraform's own ``.terraform`` directory and lock file."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, content in module.files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_bytes() == content:
            continue
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    for sub in (MODULE_PATH, ARTIFACTS):
        folder = workdir / sub
        if folder.is_dir():
            for path in folder.iterdir():
                if f"{sub}/{path.name}" not in module.files:
                    path.unlink() if path.is_file() else shutil.rmtree(path)
