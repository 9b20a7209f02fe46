"""`python -m devtools bench-store`: it runs on each backend and prints every figure it promises.

No timing assertions (timings depend on the machine): the figures are there, numbers, and consistent
(the start-up reads nothing up front, the one-time import takes every chat of the old file).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from devtools.__main__ import main

pytestmark = pytest.mark.slow  # subprocesses: left out of `make quick`


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_store_bench_prints_its_figures(backend: str, tmp_path: Path, request: pytest.FixtureRequest,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    url = ["--database-url", request.getfixturevalue("postgres_url")] if backend == "postgres" else []
    out = io.StringIO()
    output = tmp_path / "store.json"
    assert main(["bench-store", "--chats", "300", "--writes", "20", "--backends", backend, *url,
                 "--output", str(output)], out=out) == 0
    text = out.getvalue()
    for figure in ("start-up to first chat's memory (s)", "start-up peak memory above imports (MB)",
                   "one chat's memory write p50 / p95 (ms, n=20)", "one-time import of the old file (s)",
                   "before: PicklePersistence loading"):
        assert figure in text
    results = json.loads(output.read_text(encoding="utf-8"))
    figures = results["backends"][backend]
    assert results["chats"] == 300 and figures["write"]["n"] == 20
    assert 0 <= figures["write"]["p50_ms"] <= figures["write"]["p95_ms"]
    assert figures["startup"]["seconds"] > 0 and figures["startup"]["chats"] == 0  # nothing loaded up front
    assert figures["import_old_file"]["chats"] == 300 and results["legacy"]["load"]["chats"] == 300
    password = url[1].split("://postgres:")[1].split("@")[0] if url else "no password"
    assert password not in text
