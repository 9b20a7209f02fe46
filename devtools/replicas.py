"""Several ``python -m bot serve --webhook`` replicas behind one URL, as in production, for tests and the bench.

``RoundRobinProxy`` is the reverse proxy (nginx's default ``upstream``): each request goes to the next replica
in turn; a replica that refuses the connection is skipped for that request (nginx's ``proxy_next_upstream
error``), and a replica that fails after taking the request (killed mid-update) costs a 502, after which
Telegram (here ``devtools.fakeapi.FakeBotAPI``) delivers the update again. ``ServeProcess`` is one real
``serve`` process (its own interpreter, memory and event loop; SIGKILL is a real kill), ``replica_environment``
the settings it gets, all from the environment as in a container. ``kill_run`` is the fault figure: updates
arrive while one replica is killed; how many were sent, answered, answered twice, and kept in the store.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from bot.store import Store

from .fakeapi import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_URL = "https://bot.example.org/telegram/hook"  # the public URL; the fake routes its host to the proxy
WEBHOOK_SECRET = "replica_secret_token"
KILL_QUESTION = "城市书房有多少家"
KILL_USERS = 950_000_000  # the kill run's users (one private chat each): 950000001, 950000002, ...


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- the reverse proxy ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Forwarded:
    """One request the proxy handled: the replica that answered it (-1: none could), the update it carried
    and the status the proxy answered."""

    replica: int
    update_id: int | None
    status: int


class RoundRobinProxy:
    """A reverse proxy on 127.0.0.1 over ``backends`` (``host:port``); ``address`` is where it listens."""

    def __init__(self, backends: list[str], timeout: float = 60.0) -> None:
        self.backends = backends
        self.timeout = timeout
        self.forwarded: list[Forwarded] = []
        self.busy = [0] * len(backends)  # requests each replica holds now
        self._turn = itertools.cycle(range(len(backends)))
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                replica, status, answer = proxy.forward(self.path, body, headers)
                with proxy._lock:
                    proxy.forwarded.append(Forwarded(replica, _update_id(body), status))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests and the bench count requests themselves."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="proxy", daemon=True)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, int, bytes]:
        """(replica, status, body): the next replica that takes the connection answers; 502 when none does, or
        when the one that took the request fails before answering."""
        for _ in self.backends:
            with self._lock:
                replica = next(self._turn)
            host, port = self.backends[replica].rsplit(":", 1)
            connection = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
            try:
                try:
                    connection.connect()
                except OSError:
                    continue  # refused: nothing was sent, the next replica may take it
                with self._lock:
                    self.busy[replica] += 1
                try:
                    connection.request("POST", path, body, headers)
                    response = connection.getresponse()
                    return replica, response.status, response.read()
                except (OSError, http.client.HTTPException):
                    return replica, 502, b'{"error": "the replica failed while handling the request"}'
                finally:
                    with self._lock:
                        self.busy[replica] -= 1
            finally:
                connection.close()
        return -1, 502, b'{"error": "no replica took the connection"}'

    def served_by(self, update_id: int) -> int:
        """The replica that acknowledged ``update_id`` (-1: none yet)."""
        with self._lock:
            return next((f.replica for f in self.forwarded if f.update_id == update_id and f.status == 200), -1)

    def start(self) -> RoundRobinProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _update_id(body: bytes) -> int | None:
    try:
        value = json.loads(body).get("update_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


# ---- serve as a process -----------------------------------------------------------------------------------------

def replica_environment(api: FakeBotAPI, index_dir: Path, data_dir: Path, database_url: str = "",
                        port: int | None = None, **settings: str) -> dict[str, str]:
    """The environment of one ``serve`` process against ``api``: webhook mode on ``port`` (polling when None),
    its own data folder (heartbeat, old memory file, SQLite store unless ``database_url``), more ``settings``
    as BOT_<NAME> variables."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("BOT_", "TELEGRAM_")) and key not in ("DATABASE_URL",)}
    environment.update({
        "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_BASE_URL": api.base_url, "BOT_INDEX_DIR": str(index_dir),
        "BOT_KNOWLEDGE_DIR": str(ROOT / "knowledge"), "BOT_HEARTBEAT_FILE": str(data_dir / "heartbeat"),
        "BOT_FEEDBACK_DB": str(data_dir / "feedback.sqlite3"),
        "BOT_CONVERSATION_STORE": str(data_dir / "conversations.pickle"), "BOT_AUTO_RELOAD_SECONDS": "0",
        "BOT_LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT)})
    if database_url:
        environment["BOT_DATABASE_URL"] = database_url
    if port is not None:
        environment.update({"BOT_TELEGRAM_MODE": "webhook", "BOT_WEBHOOK_URL": WEBHOOK_URL,
                            "BOT_WEBHOOK_LISTEN": "127.0.0.1", "BOT_WEBHOOK_PORT": str(port),
                            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET})
    environment.update({f"BOT_{name.upper()}": value for name, value in settings.items()})
    return environment


class ServeProcess:
    """``python -m bot serve`` in a process of its own; its output goes to ``log``."""

    def __init__(self, environment: dict[str, str], log: Path, port: int | None = None) -> None:
        self.port = port
        self.log = log
        self._output: IO[bytes] = log.open("wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=environment, cwd=ROOT,
                                        stdout=self._output, stderr=subprocess.STDOUT)
        self.peak_mb = float("nan")  # the process's peak resident memory, known once it has ended

    def wait_listening(self, timeout: float = 120.0) -> float:
        """Seconds from the start until the webhook port takes connections; RuntimeError if serve ends first."""
        if self.port is None:
            raise ValueError("a polling process listens on no port")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_running()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return time.perf_counter() - self.started
            time.sleep(0.1)
        raise RuntimeError(f"serve did not listen on port {self.port} within {timeout:g} s; log: {self.tail()}")

    def _check_running(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"serve ended with exit code {self.process.returncode}: {self.tail()}")

    def memory_mb(self, field: str = "VmRSS") -> float:
        """A memory figure of the running process (VmRSS now, VmHWM its peak so far), from /proc."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last flush, connections cut."""
        self.process.send_signal(signal.SIGKILL)
        self._reap(10)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, as a supervisor stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self._reap(timeout)

    def _reap(self, timeout: float) -> int:
        """Wait for the end (killing it after ``timeout``); its exit code, and its peak memory from wait4."""
        code: int | None = self.process.returncode
        deadline = time.monotonic() + timeout
        while code is None and time.monotonic() < deadline:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                code = self.process.returncode = os.waitstatus_to_exitcode(status)
                self.peak_mb = round(usage.ru_maxrss / 1024, 1)
            else:
                time.sleep(0.05)
        if code is None:
            self.process.kill()
            code = self.process.wait()
        self._output.close()
        return code

    def tail(self, characters: int = 3000) -> str:
        self._output.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")[-characters:]


@contextlib.contextmanager
def replicas_behind_a_proxy(api: FakeBotAPI, index_dir: Path, work: Path, database_url: str, count: int = 2,
                            **settings: str) -> Iterator[tuple[list[ServeProcess], RoundRobinProxy]]:
    """``count`` webhook replicas on one store, behind a proxy that the fake API delivers to; all listening."""
    ports = [free_port() for _ in range(count)]
    replicas: list[ServeProcess] = []
    proxy = RoundRobinProxy([f"127.0.0.1:{port}" for port in ports]).start()
    try:
        for n, port in enumerate(ports, start=1):
            data = work / f"replica-{n}"
            data.mkdir(parents=True, exist_ok=True)
            environment = replica_environment(api, index_dir, data, database_url, port, **settings)
            replicas.append(ServeProcess(environment, work / f"replica-{n}.log", port))
        for replica in replicas:
            replica.wait_listening()
        api.route_webhook(proxy.address)
        yield replicas, proxy
    finally:
        for replica in replicas:
            replica.stop()
        proxy.stop()


# ---- the fault figure -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KillRun:
    """What became of updates sent while one of the replicas was killed."""

    sent: int
    answered: int  # updates whose chat got an answer
    answered_twice: int  # ... more than one (the killed replica had sent it, not yet acknowledged it)
    delivered_again: int  # updates the fake API had to deliver more than once
    questions_stored: int  # sent updates whose question is in the store
    memories_stored: int  # chats whose memory is in the store
    killed_after: int  # updates sent before the kill (at once; the kill came while it held some of them)

    def line(self) -> str:
        return (f"two replicas, one killed (SIGKILL) holding updates, after {self.killed_after} of {self.sent}: "
                f"{self.answered} answered ({self.answered_twice} twice), {self.delivered_again} delivered again, "
                f"{self.questions_stored} questions and {self.memories_stored} chats' memory in the store")


def kill_run(api: FakeBotAPI, proxy: RoundRobinProxy, replicas: list[ServeProcess], store: Store,
             updates: int = 60, burst: int = 20, interval: float = 0.05, timeout: float = 120.0) -> KillRun:
    """Send ``updates`` questions from as many users: ``burst`` at once, and as soon as the first replica holds
    one of them, SIGKILL it; the rest ``interval`` seconds apart. Wait until every update is acknowledged, then
    count the answers and the store's rows."""
    users = [KILL_USERS + n for n in range(1, updates + 1)]
    update_ids = [api.send_text(KILL_QUESTION, user_id=user) for user in users[:burst]]
    deadline = time.monotonic() + timeout
    while not proxy.busy[0] and time.monotonic() < deadline:
        time.sleep(0.005)
    replicas[0].kill()
    for user in users[burst:]:
        update_ids.append(api.send_text(KILL_QUESTION, user_id=user))
        time.sleep(interval)
    for update_id in update_ids:
        api.wait_delivered(update_id, timeout=max(0.1, deadline - time.monotonic()))
    answers = [len(api.sent_messages(user)) for user in users]
    hashes = {store.hash_user(user) for user in users}
    rows = store._open().execute("SELECT user_hash FROM questions").fetchall()
    return KillRun(
        sent=updates, answered=sum(1 for n in answers if n), answered_twice=sum(1 for n in answers if n > 1),
        delivered_again=sum(1 for update_id in update_ids if len(api.deliveries(update_id)) > 1),
        questions_stored=len(hashes & {row[0] for row in rows}),
        memories_stored=sum(1 for user in users if store.load_memory(user) is not None), killed_after=burst)
