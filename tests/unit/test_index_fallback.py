"""A damaged current build: the newest intact build serves (with one warning naming both), or nothing does."""

import io
import logging

import pytest

from bot.cli import main
from bot.embedding import load_embedder
from bot.engine import Engine
from bot.errors import IndexLoadError
from bot.index import build_index, current_build, load_index
from tests.helpers import FAKE_MODEL, make_settings


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE = {
    "truncated": lambda build: _truncate(build / "faiss.index"),
    "missing": lambda build: (build / "chunks.jsonl").unlink(),
    "checksum": lambda build: (build / "content.json").write_bytes(
        (build / "content.json").read_bytes().replace(b"user_words", b"user_wordz")),
    "manifest": lambda build: (build / "manifest.json").write_text("{not json", encoding="utf-8"),
}


@pytest.fixture
def two_builds(tmp_path):
    """Settings and the older and newer (current) build of the same content."""
    settings = make_settings(tmp_path, embedding_model=FAKE_MODEL)
    older = build_index(settings, load_embedder).path
    newer = build_index(settings, load_embedder).path
    assert current_build(settings.path("index_dir")) == newer != older
    return settings, older, newer


def _cli(settings, *args):
    out = io.StringIO()
    code = main(["--set", f"index_dir={settings.path('index_dir')}", "--set", f"embedding_model={FAKE_MODEL}",
                 *args], out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_current_build_gives_way_to_the_newest_intact_one(damage, two_builds, caplog):
    settings, older, newer = two_builds
    DAMAGE[damage](newer)
    with pytest.raises(IndexLoadError):  # a reload never falls back: the build being served stays
        load_index(settings, FAKE_MODEL)
    caplog.set_level(logging.WARNING)
    engine = Engine(settings)
    assert engine.index.build_id == older.name and engine.index.passed_over == newer.name
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and newer.name in warnings[0] and older.name in warnings[0]
    assert engine.answer("温州城市书房有多少家").passages  # it answers from the older build


def test_health_says_which_build_serves_and_still_exits_0(two_builds):
    settings, older, newer = two_builds
    code, healthy = _cli(settings, "health")
    assert code == 0 and "warning" not in healthy and newer.name in healthy
    _truncate(newer / "vectors.npy")
    code, out = _cli(settings, "health")
    warning, ok = out.splitlines()
    assert code == 0 and warning.startswith("warning: ") and newer.name in warning and older.name in warning
    assert ok.startswith(f"ok: index {older.name}")


def test_ask_answers_from_the_intact_build_and_warns(two_builds, caplog):
    """The warning is a log record: the command line logs to stderr (run_guarded's logging set-up)."""
    settings, older, newer = two_builds
    (newer / "sentences.npz").unlink()
    caplog.set_level(logging.WARNING)
    code, out = _cli(settings, "ask", "温州城市书房有多少家")
    assert code == 0 and out.strip()
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "damaged" in warning and newer.name in warning and older.name in warning


def test_with_no_intact_build_the_index_is_refused_not_half_loaded(two_builds, capsys):
    settings, older, newer = two_builds
    _truncate(newer / "faiss.index")
    (older / "chunks.jsonl").unlink()
    with pytest.raises(IndexLoadError, match="faiss.index is damaged"):
        Engine(settings)
    code, _ = _cli(settings, "health")
    assert code == 1 and "faiss.index is damaged" in capsys.readouterr().err


def test_a_build_of_another_model_is_not_a_fallback(two_builds):
    settings, older, newer = two_builds
    manifest = (older / "manifest.json").read_text(encoding="utf-8")
    (older / "manifest.json").write_text(manifest.replace(f'"model_id": "{FAKE_MODEL}"', '"model_id": "other"'),
                                         encoding="utf-8")
    _truncate(newer / "faiss.index")
    with pytest.raises(IndexLoadError, match="faiss.index is damaged"):
        load_index(settings, FAKE_MODEL, fallback=True)
