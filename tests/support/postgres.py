"""PostgreSQL for tests: the machine's shared server (``POSTGRES``, a schema per test), and a server
of a test's own — ``initdb`` and ``pg_ctl`` under a temporary directory — so that a test can stop it
and start it again (the machine's shared server must stay up).

As root (this machine kind, CI), PostgreSQL refuses to run: the cluster then runs as the
``postgres`` user, in a directory it owns."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from service.store.database import normalise_url
from tests.support.processes import free_port
from tests.support.real_parts import missing

# The PostgreSQL server of this machine kind (trust auth, database ``test``), as CI has it.
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url(schema: str, server: str = POSTGRES) -> str:
    """``server`` (the shared one unless told), searching ``schema`` (see the ``postgres_schema`` fixture)."""
    return f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"


@contextmanager
def scratch_schema(server: str = POSTGRES, prefix: str = "t") -> Iterator[str]:
    """A fresh schema on ``server`` (``<prefix>_<random>``), dropped with all it holds afterwards.
    Creating it raises ``sqlalchemy.exc.OperationalError`` when the server is not reachable."""
    admin = sa.create_engine(normalise_url(server))
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            missing("PostgreSQL's initdb and pg_ctl are not installed: this test starts a server of its own")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="mwaa-sp-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(self.bin / tool), *args]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-o", options, "-l", str(self.root / "log")
        )

    def stop(self) -> None:
        """A fast shutdown: every session is ended, as a database restart or failover does."""
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", str(self.data))

    def destroy(self) -> None:
        subprocess.run(  # noqa: S603
            [
                *(["runuser", "-u", "postgres", "--"] if self.as_postgres else []),
                str(self.bin / "pg_ctl"),
                "stop",
                "-m",
                "immediate",
                "-D",
                str(self.data),
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)
