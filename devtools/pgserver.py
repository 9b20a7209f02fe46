"""A throw-away PostgreSQL server for tests and the store benchmark: Debian's binaries, a temporary folder.

``temporary_postgres()`` runs ``initdb`` into a new folder under the system temp folder, starts the server
with ``pg_ctl`` on a free port of 127.0.0.1 (its socket in that folder; for tests without fsync, as nothing
there must survive a crash; for the benchmark with PostgreSQL's default durability), and stops and removes
it all at the end. PostgreSQL refuses to run as root, so as root every
command runs as the ``postgres`` user (``runuser``) and the folder is handed to that user. Connections over
TCP need a password (scram-sha-256, a random one), so tests see a URL with a password, as in production.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"


def postgres_binaries() -> Path | None:
    """The folder of the newest installed PostgreSQL's initdb and pg_ctl, or None when there is none."""
    candidates = sorted(DEBIAN_BINARIES.glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    return next((c for c in candidates if (c / "initdb").is_file() and (c / "pg_ctl").is_file()), None)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """A running temporary server: ``url(database)`` to connect, ``create_database`` for a fresh one."""

    folder: Path
    port: int
    password: str
    databases: int = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        self.databases += 1
        name = f"bot_{self.databases}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def temporary_postgres(binaries: Path, durable: bool = False) -> Iterator[PostgresServer]:
    """Start a server with the binaries in ``binaries`` (``durable``: commits reach the disk, as by default;
    else fsync off, for tests); stop it and delete its folder when done."""
    folder = Path(tempfile.mkdtemp(prefix="bot-postgres-"))
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", SERVER_USER, "--"] if as_root else []
    password = secrets.token_urlsafe(18)
    data = folder / "data"
    started = False
    try:
        (folder / "password").write_text(password + "\n", encoding="utf-8")
        if as_root:
            shutil.chown(folder, SERVER_USER)
            shutil.chown(folder / "password", SERVER_USER)

        def run(*command: str) -> None:
            done = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                log_file = folder / "server.log"
                server_log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
                raise RuntimeError(f"{' '.join(command[:2])} failed ({done.returncode}): "
                                   f"{(done.stderr or done.stdout).strip()[-2000:]} {server_log}")

        run(str(binaries / "initdb"), "-D", str(data), "-U", SERVER_USER, "--pwfile", str(folder / "password"),
            "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        port = _free_port()
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60",
            "-o", options, "start")
        started = True
        yield PostgresServer(folder, port, password)
    finally:
        if started:
            subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)
