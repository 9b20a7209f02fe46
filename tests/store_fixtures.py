"""Fixtures for the store on both backends (a pytest plugin, registered in tests/conftest.py).

``postgres_server`` starts a real PostgreSQL server for the session (devtools.pgserver: Debian's binaries in
a temporary folder, run as the postgres user); ``postgres_url`` is a fresh database on it for one test.
``store_settings`` makes settings for a fresh store on each backend in turn (tests using it run twice).
Tests that need PostgreSQL are marked ``postgres`` (``-m postgres`` selects them). Where PostgreSQL is not
installed they skip, saying so; with $BOT_TEST_REQUIRE_POSTGRES set (CI: .ci/run) they fail instead, so a
CI machine without it cannot pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from devtools.bench.store import write_legacy_pickle as write_ptb_pickle  # noqa: F401 (for the tests)
from devtools.pgserver import PostgresServer, postgres_binaries, temporary_postgres

REQUIRE_POSTGRES = "BOT_TEST_REQUIRE_POSTGRES"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (started by a fixture; skipped where "
                                       "PostgreSQL is not installed)")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    binaries = postgres_binaries()
    if binaries is None:
        reason = ("PostgreSQL is not installed (no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH): "
                  "apt-get install postgresql")
        if os.environ.get(REQUIRE_POSTGRES):
            pytest.fail(f"{reason}; ${REQUIRE_POSTGRES} is set, so the PostgreSQL tests must run")
        pytest.skip(reason)
    with temporary_postgres(binaries) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new, empty database (with a password in its URL)."""
    return postgres_server.create_database()


StoreSettings = Callable[..., Settings]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSettings:
    """``make(**changes)``: settings for one fresh store of this run's backend (every call: the same store)."""
    environ = {}
    if request.param == "postgres":
        environ["DATABASE_URL"] = request.getfixturevalue("postgres_url")

    def make(**changes: object) -> Settings:
        return load_settings(environ=environ).replace(feedback_db=str(tmp_path / "data" / "feedback.sqlite3"),
                                                      **changes)

    return make


class RunsCode:
    """A pickle payload that would create ``marker`` when unpickled by an ordinary unpickler."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))
