"""The filesystem mirror, the provider executable and its go-plugin handshake."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mwaa_sp_standin.mirror import STANDIN_VERSION, install_mirror, provider_executable
from mwaa_sp_standin.server import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, ensure_certificate


def test_version_satisfies_the_module_constraint_and_is_not_a_release() -> None:
    major, minor, patch = (int(p) for p in STANDIN_VERSION.split("."))
    assert major == 6  # "~> 6.0" means >= 6.0, < 7.0
    assert minor == 999  # far beyond any real 6.x release, so it is never mistaken for one
    assert patch == 0


def test_install_mirror_layout(tmp_path: Path) -> None:
    cli_config = install_mirror(tmp_path / "root", python="/opt/py/bin/python3")
    root = (tmp_path / "root").resolve()
    assert cli_config == root / "terraformrc"
    exe = provider_executable(root)
    parts = exe.relative_to(root).parts
    assert parts[:5] == ("mirror", "registry.terraform.io", "hashicorp", "aws", STANDIN_VERSION)
    assert parts[6:] == (f"terraform-provider-aws_v{STANDIN_VERSION}",)
    assert exe.is_file()
    assert stat.S_IMODE(exe.stat().st_mode) == 0o755
    script = exe.read_text()
    assert script.startswith("#!/bin/sh\n")
    assert 'exec "$STANDIN_PYTHON" -m mwaa_sp_standin "$@"' in script
    env = (root / "standin.env").read_text()
    assert "STANDIN_PYTHON=/opt/py/bin/python3\n" in env
    # The directory holding the mwaa_sp_standin package (standin/ of the checkout), so a checkout works too.
    import_root = Path(__file__).resolve().parents[2] / "standin"
    assert f"PYTHONPATH={import_root}${{PYTHONPATH:+:$PYTHONPATH}}\n" in env
    assert f"TF_STANDIN_CERT_FILE={root / 'provider-cert.json'}" in env
    text = cli_config.read_text()
    assert f'path    = "{root / "mirror"}"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text
    cert = json.loads((root / "provider-cert.json").read_text())
    assert cert["cert_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE((root / "provider-cert.json").stat().st_mode) == 0o600


def test_install_mirror_is_idempotent(tmp_path: Path) -> None:
    first = install_mirror(tmp_path)
    exe = provider_executable(tmp_path)
    files = [first, exe, tmp_path / "provider-cert.json"]
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) for p in files}
    time.sleep(0.01)
    assert install_mirror(tmp_path) == first
    assert {p: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) for p in files} == before
    # Another interpreter only changes standin.env, never the provider package itself.
    install_mirror(tmp_path, python="/usr/bin/python3.11")
    assert "STANDIN_PYTHON=/usr/bin/python3.11" in (tmp_path / "standin.env").read_text()
    assert (exe.stat().st_mtime_ns, exe.read_bytes()) == (before[exe][0], before[exe][2])
    assert first.stat().st_mtime_ns == before[first][0]


def test_package_is_identical_across_installs(tmp_path: Path) -> None:
    """What .terraform.lock.hcl hashes must not depend on the mirror's location or the interpreter,
    so lock files stay valid when the service's data directory or virtualenv moves."""
    install_mirror(tmp_path / "a", python="/venv-a/bin/python")
    install_mirror(tmp_path / "b" / "deeper", python="/venv-b/bin/python")
    package_a = provider_executable(tmp_path / "a").parent
    package_b = provider_executable(tmp_path / "b" / "deeper").parent
    assert [p.name for p in package_a.iterdir()] == [p.name for p in package_b.iterdir()]
    assert provider_executable(tmp_path / "a").read_bytes() == provider_executable(tmp_path / "b/deeper").read_bytes()


def test_concurrent_certificate_creation_yields_one_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "certs" / "cert.json"
    results: list[dict[str, object]] = []

    def worker() -> None:
        results.append(ensure_certificate(path))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    on_disk = json.loads(path.read_text())
    assert on_disk in results  # the file is one complete certificate, never a mix
    assert ensure_certificate(path) == on_disk  # and later starts reuse it
    assert [p.name for p in path.parent.iterdir()] == ["cert.json"]  # no temporary files left


def test_expired_certificate_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "cert.json"
    data = ensure_certificate(path)
    path.write_text(json.dumps(data | {"not_after": time.time() - 10}))
    assert ensure_certificate(path)["cert_pem"] != data["cert_pem"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return env | extra


def test_executable_refuses_to_run_outside_terraform(tmp_path: Path) -> None:
    install_mirror(tmp_path)
    proc = subprocess.run(  # noqa: S603 - our own executable
        [str(provider_executable(tmp_path))], env=_env(tmp_path), capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 1
    assert b"This binary is a plugin" in proc.stderr


def test_executable_serves_the_schema_over_tls(tmp_path: Path) -> None:
    """The go-plugin handshake line, then a real TLS gRPC call the way Terraform makes it."""
    import grpc
    from tf.gen import grpc_controller_pb2, grpc_controller_pb2_grpc, tfplugin_pb2, tfplugin_pb2_grpc

    install_mirror(tmp_path)
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 - our own executable
        [str(provider_executable(tmp_path))],
        env=_env(tmp_path, **{MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        startup = time.monotonic() - started
        core, proto, network, address, kind, cert_b64 = line.split("|")
        assert (core, proto, network, kind) == ("1", "6", "unix", "grpc")
        cert = json.loads((tmp_path / "provider-cert.json").read_text())
        assert base64.b64decode(cert_b64 + "=" * (-len(cert_b64) % 4)) == base64.b64decode(cert["cert_der_b64"])
        assert startup < 30, f"provider took {startup:.2f}s to start"

        creds = grpc.ssl_channel_credentials(root_certificates=cert["cert_pem"].encode())
        with grpc.secure_channel(
            f"unix:{address}", creds, options=[("grpc.ssl_target_name_override", "localhost")]
        ) as channel:
            provider = tfplugin_pb2_grpc.ProviderStub(channel)
            schema = provider.GetProviderSchema(tfplugin_pb2.GetProviderSchema.Request(), timeout=30)
            assert "aws_s3_object" in schema.resource_schemas
            assert {a.name for a in schema.provider.block.attributes} >= {"region", "s3_use_path_style"}
            # StopProvider must not end the process (Terraform sends it on Ctrl-C mid-apply) ...
            provider.StopProvider(tfplugin_pb2.StopProvider.Request(), timeout=30)
            assert proc.poll() is None
            # ... go-plugin's Shutdown does.
            grpc_controller_pb2_grpc.GRPCControllerStub(channel).Shutdown(grpc_controller_pb2.Empty(), timeout=30)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.skipif(sys.platform != "linux", reason="the layout check names linux_amd64 explicitly")
def test_platform_directory_on_this_machine(tmp_path: Path) -> None:
    import platform

    arch = {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]
    assert provider_executable(tmp_path).parent.name == f"linux_{arch}"


def test_provider_exits_when_terraform_dies_without_shutdown(tmp_path: Path) -> None:
    """An orphaned provider (Terraform killed) must not linger: it notices the re-parenting."""
    install_mirror(tmp_path)
    pid_file = tmp_path / "provider.pid"
    # A shell stands in for Terraform: it starts the provider in the background, records its pid,
    # waits for the handshake line and exits without any Shutdown call.
    out = tmp_path / "out"
    script = (
        f'"{provider_executable(tmp_path)}" > "{out}" & echo $! > "{pid_file}"; '
        f'while [ ! -s "{out}" ]; do sleep 0.05; done'
    )
    subprocess.run(  # noqa: S603 - fixed test command
        ["/bin/sh", "-c", script],  # noqa: S607
        env=_env(tmp_path, **{MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE}),
        check=True,
        timeout=60,
    )
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        # A zombie (already exited, not yet reaped by init) also counts as gone.
        status = Path(f"/proc/{pid}/status")
        if status.exists() and "\nState:\tZ" in status.read_text():
            break
        time.sleep(0.2)
    else:
        os.kill(pid, 9)
        raise AssertionError("the orphaned provider kept running")
    assert out.read_text().startswith("1|6|unix|")
