"""`python -m devtools bench-faults`: it runs real serve processes and prints every figure it promises.

No timing assertions (timings depend on the machine): the figures are there, numbers, and consistent (every
/help of a burst answered, serve ending with exit code 0 on SIGTERM). The two-replica part runs the same
``kill_run`` as tests/e2e/test_replicas.py, which checks its figures; it is left out here.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from devtools.__main__ import main

pytestmark = pytest.mark.slow  # two serve processes: left out of `make quick`


def test_the_fault_bench_prints_its_figures(index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    out = io.StringIO()
    output = tmp_path / "faults.json"
    assert main(["--set", f"index_dir={index_dir}", "bench-faults", "--chats", "500", "--help-chats", "20",
                 "--ask-chats", "4", "--no-replicas", "--output", str(output)], out=out) == 0
    text = out.getvalue()
    for figure in ("start-up to the first /help answered (s)", "peak resident memory of the run (MB)",
                   "20 chats' /help at once: p50", "the same while 4 chats ask: p50"):
        assert figure in text
    results = json.loads(output.read_text(encoding="utf-8"))
    empty, stored = results["serve"]["0"], results["serve"]["500"]
    assert empty["exit_code_on_sigterm"] == 0 == stored["exit_code_on_sigterm"]
    assert empty["startup_seconds"] > 0 and 0 < stored["rss_mb_when_ready"] <= stored["peak_rss_mb"]
    assert stored["help_alone"]["n"] == 20 == stored["help_while_asked"]["n"]
    assert 0 <= stored["help_alone"]["p50_ms"] <= stored["help_alone"]["p95_ms"] <= stored["help_alone"]["max_ms"]
