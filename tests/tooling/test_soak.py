"""`python -m devtools soak`, small: questions through the fake server against the real bot, none lost or doubled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine import Engine
from devtools import __main__ as cli
from devtools import soak

pytestmark = pytest.mark.slow  # seconds per test: left out of `make quick`


def test_a_short_soak_loses_and_duplicates_nothing(real_settings: Settings, engine: Engine) -> None:
    result = soak.run_soak(real_settings, engine, questions=300, users=20)
    assert result["questions"] == 300 and result["users"] == 20
    assert result["replies"] == result["answered"] == 300
    assert result["lost"] == 0 and result["duplicates"] == 0 and result["bot_errors"] == 0
    assert result["window"] == 150  # first and last halves when fewer than 2,000 questions are asked
    for part in ("first", "last"):
        window = result[part]
        assert window["n"] == 150 and 0 < window["p50_ms"] <= window["p95_ms"] and window["rss_mb"] > 0
    assert result["rss_start_mb"] > 0 and result["replies_per_s"] > 0 and result["samples"] == []
    assert result["fake_server_requests"]["sendMessage"] == 300
    table = soak.format_soak(result)
    assert "lost 0, duplicates 0" in table and "first 150" in table and "p95 latency" in table


def test_a_soak_samples_memory_and_the_fake_forgets_what_it_no_longer_needs(real_settings: Settings,
                                                                             engine: Engine) -> None:
    result = soak.run_soak(real_settings, engine, questions=120, users=10, sample_every=40)
    assert result["replies"] == result["answered"] == 120 and result["lost"] == result["duplicates"] == 0
    assert [s["answers"] for s in result["samples"]] == [40, 80, 120]
    assert all(s["rss_mb"] > 0 and 0 < s["p50_ms"] <= s["p95_ms"] for s in result["samples"])
    assert result["window"] == 40 and result["first"]["n"] == result["last"]["n"] == 40


def test_soak_command_writes_its_results(real_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], engine: Engine) -> None:
    calls = []

    def fake_run(settings, engine_, questions, users, progress=None):  # the command's wiring only
        calls.append((questions, users))
        return {"questions": questions, "users": users, "replies": questions, "answered": questions, "lost": 0,
                "duplicates": 0, "bot_errors": 0, "seconds": 1.0, "replies_per_s": 10.0, "window": 1,
                "first": {"n": 1, "p50_ms": 1.0, "p95_ms": 2.0, "mean_ms": 1.0, "rss_mb": 5.0},
                "last": {"n": 1, "p50_ms": 1.0, "p95_ms": 2.0, "mean_ms": 1.0, "rss_mb": 5.0},
                "rss_start_mb": 4.0, "rss_end_mb": 5.0, "rss_growth_mb": 0.0, "samples": []}

    monkeypatch.setattr(soak, "run_soak", fake_run)
    monkeypatch.setattr(cli, "Engine", lambda settings: engine)
    monkeypatch.delenv("BOT_SETTINGS", raising=False)
    output = tmp_path / "out" / "soak.json"
    code = cli.main(["--set", f"index_dir={real_settings.path('index_dir')}", "soak", "--questions", "12",
                     "--users", "3", "--output", str(output)])
    assert code == 0 and calls == [(12, 3)]
    assert json.loads(output.read_text())["questions"] == 12
    assert "soak: 12 questions from 3 users" in capsys.readouterr().out
