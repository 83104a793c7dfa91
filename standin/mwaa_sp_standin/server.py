"""go-plugin server for the stand-in provider (what ``python -m mwaa_sp_standin`` runs).

This is tf's ``tf.runner.run_provider`` reduced to what Terraform needs, with two changes that the
runner does not allow from outside: it serves :class:`~mwaa_sp_standin.servicer.StandinServicer`
(the runner hard-codes the framework's servicer), and the TLS certificate comes from a file named by
``TF_STANDIN_CERT_FILE`` that :func:`mwaa_sp_standin.mirror.install_mirror` pre-generates, instead of
``~/.cache/tf-python-provider`` (HOME may be read-only in containers, and concurrent provider starts
would race on creating it there).

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent import futures
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["CERT_ENV", "ensure_certificate", "serve"]

CERT_ENV = "TF_STANDIN_CERT_FILE"
# go-plugin's handshake: Terraform starts plugins with this cookie in the environment.
MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
CERT_LIFETIME = timedelta(days=365)
# A certificate this close to expiry is replaced; Terraform runs are far shorter than this.
CERT_RENEW_MARGIN = timedelta(days=1)


def _generate_certificate() -> dict[str, Any]:
    """A self-signed certificate for ``localhost`` like go-plugin's and tf's (CA + server + client)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    not_after = now + CERT_LIFETIME
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return {
        "key_pem": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "cert_der_b64": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
        # Stored so that loading needs no cryptography import (it is ~0.15 s of every start).
        "not_after": not_after.timestamp(),
    }


def _load_certificate(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if not all(isinstance(data.get(k), str) for k in ("key_pem", "cert_pem", "cert_der_b64")):
            return None
        renew_at = datetime.now(UTC) + CERT_RENEW_MARGIN
        if float(data["not_after"]) <= renew_at.timestamp():
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ensure_certificate(path: Path) -> dict[str, Any]:
    """Load the cached certificate at ``path``, or create it there atomically.

    Atomic (temporary file + rename), so concurrent provider starts never read a half-written file;
    two starts that both find it missing just both write a valid one. When ``path`` is not writable
    the certificate is used from memory only.
    """
    cached = _load_certificate(path)
    if cached is not None:
        return cached
    data = _generate_certificate()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cert-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        print(f"[WARN] cannot cache the provider certificate at {path}: {exc}", file=sys.stderr)
    return data


def _certificate_path() -> Path:
    configured = os.environ.get(CERT_ENV)
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "mwaa-sp-standin" / "provider-cert.json"


def serve(argv: list[str] | None = None) -> int:
    """Serve the provider over go-plugin (gRPC on a unix socket, TLS) until Terraform stops it."""
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        print(
            "This binary is a plugin. These are not meant to be executed directly.\n"
            "Terraform starts it (through the filesystem mirror made by mwaa_sp_standin.mirror).",
            file=sys.stderr,
        )
        return 1
    # Terraform forwards Ctrl-C to the whole process group; like go-plugin plugins, keep running so
    # in-flight operations finish — Terraform stops the provider through StopProvider/Shutdown.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    started = time.monotonic()
    import grpc  # type: ignore[import-untyped]
    from tf.gen import grpc_controller_pb2 as controller_pb
    from tf.gen import grpc_controller_pb2_grpc as controller_rpc
    from tf.gen import grpc_stdio_pb2_grpc as stdio_rpc
    from tf.gen import tfplugin_pb2_grpc as rpc

    from mwaa_sp_standin.aws_provider import AwsStandinProvider
    from mwaa_sp_standin.servicer import StandinServicer

    stopped = threading.Event()

    # Only go-plugin's Shutdown ends the process. StopProvider (sent on Ctrl-C) asks to cancel
    # in-flight work; exiting then would lose the results of applies that are still running.
    class Controller(controller_rpc.GRPCControllerServicer):  # type: ignore[misc]
        def Shutdown(self, request: Any, context: Any) -> Any:
            stopped.set()
            return controller_pb.Empty()

    class Stdio(stdio_rpc.GRPCStdioServicer):  # type: ignore[misc]
        def StreamStdio(self, request: Any, context: Any) -> Any:
            return iter([])  # stdout/stderr reach Terraform's log through the process pipes instead

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    rpc.add_ProviderServicer_to_server(StandinServicer(AwsStandinProvider()), server)
    controller_rpc.add_GRPCControllerServicer_to_server(Controller(), server)
    stdio_rpc.add_GRPCStdioServicer_to_server(Stdio(), server)

    cert = ensure_certificate(_certificate_path())
    credentials = grpc.ssl_server_credentials(
        [(cert["key_pem"].encode(), cert["cert_pem"].encode())], require_client_auth=False
    )
    with tempfile.TemporaryDirectory(prefix="tf-aws-standin-") as tmp:
        socket_path = os.path.join(tmp, "plugin.sock")
        server.add_secure_port(f"unix://{socket_path}", credentials)
        server.start()
        if os.environ.get("TF_STANDIN_TIMING") == "1":
            print(f"[TIMING] provider ready after {(time.monotonic() - started) * 1000:.0f} ms", file=sys.stderr)
        # Handshake: core protocol 1 | app protocol 6 | network | address | grpc | server cert.
        handshake = ["1", "6", "unix", socket_path, "grpc", cert["cert_der_b64"].rstrip("=")]
        sys.stdout.write("|".join(handshake) + "\n")
        sys.stdout.flush()
        # Wait for Shutdown; if Terraform dies without sending it (killed, crashed), the process is
        # re-parented: stop then too instead of lingering as an orphan.
        parent = os.getppid()
        while not stopped.wait(1.0):
            if os.getppid() != parent:
                break
        # Give the Shutdown reply a moment to leave before the server goes away.
        server.stop(grace=0.2).wait()
    return 0
