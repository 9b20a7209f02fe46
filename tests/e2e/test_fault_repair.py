"""Fault matrix, operator side: a damaged index, a wrong setting, a bad input line, a full disk, a broken
feedback store. Each fault ends in one clear message and a working repair, through the command line an
operator uses (``bot.cli.main``) where there is one. The fake embedding model keeps these fast."""

from __future__ import annotations

import errno
import io
import json
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from bot import embedding
from bot.cli import main
from bot.config import load_settings
from bot.embedding import load_embedder
from bot.errors import ConfigError, EmbeddingError, FeedbackStoreError, IndexLoadError
from bot.index import build_index, current_build, load_index
from bot.store import Store, backup_database
from tests.helpers import FAKE_MODEL, KNOWLEDGE, HashingModel, make_settings

pytestmark = pytest.mark.slow  # the fault matrix: left out of `make quick`


# ---- helpers ---------------------------------------------------------------------------------------------

def _settings_file(tmp_path: Path, **extra: object) -> Path:
    """A settings file for `python -m bot` pointing into ``tmp_path``, with the fake model."""
    values = {"knowledge_dir": str(KNOWLEDGE), "index_dir": str(tmp_path / "index"),
              "feedback_db": str(tmp_path / "data" / "feedback.sqlite3"), "embedding_model": FAKE_MODEL, **extra}
    path = tmp_path / "settings.yaml"
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in values.items()), encoding="utf-8")
    return path


def _cli(capsys: pytest.CaptureFixture[str], settings_file: Path | None, *argv: str) -> tuple[int, str, str]:
    """Run `python -m bot …` in this process; exit code, stdout, stderr."""
    capsys.readouterr()
    out = io.StringIO()
    args = (["--settings", str(settings_file)] if settings_file else []) + list(argv)
    code = main(args, out=out)
    return code, out.getvalue(), capsys.readouterr().err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def _fresh_vectors(settings) -> np.ndarray:
    index = load_index(settings, FAKE_MODEL)
    return index, HashingModel().encode([c.embedding_text for c in index.chunks])


# ---- 1. build repairs whatever state index/ is in -----------------------------------------------------

def test_a_rebuild_re_embeds_what_a_damaged_build_held_instead_of_keeping_it(fake_settings):
    first = build_index(fake_settings, load_embedder)
    vectors = first.path / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-256:] = bytes(256)  # the last passages' vectors zeroed: same size, wrong content
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match="checksum"):
        load_index(fake_settings, FAKE_MODEL)
    repaired = build_index(fake_settings, load_embedder)
    assert repaired.reused == 0 and repaired.embedded > 0 and "checksum" in repaired.not_reused
    index, fresh = _fresh_vectors(fake_settings)
    assert np.allclose(index.chunk_vectors, fresh, atol=1e-6)  # nothing of the damage carried over


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_a_rebuild_works_whatever_a_file_of_the_current_build_holds(fake_settings, damage):
    first = build_index(fake_settings, load_embedder)
    target = first.path / "sentences.npz"
    if damage == "garbage":
        target.write_bytes(b"not a zip file at all" * 10)
    elif damage == "truncated":
        target.write_bytes(target.read_bytes()[:100])
    else:
        target.unlink()
    repaired = build_index(fake_settings, load_embedder)
    assert repaired.reused == 0
    index, fresh = _fresh_vectors(fake_settings)
    assert np.allclose(index.chunk_vectors, fresh, atol=1e-6)


@pytest.mark.parametrize("pointer", ["garbled", "folder", "elsewhere", "empty"])
def test_an_unusable_pointer_is_refused_clearly_and_build_repairs_it(tmp_path, capsys, pointer):
    settings_file = _settings_file(tmp_path)
    assert _cli(capsys, settings_file, "build")[0] == 0
    current = tmp_path / "index" / "CURRENT"
    current.unlink()
    if pointer == "garbled":
        current.write_bytes(b"\xff\xfe")
    elif pointer == "folder":
        current.mkdir()
    elif pointer == "elsewhere":
        current.write_text("../../../etc\n", encoding="utf-8")
    else:
        current.write_text("", encoding="utf-8")
    for command in (["health"], ["ask", "城市书房有多少家"]):
        code, _, err = _cli(capsys, settings_file, *command)
        assert code == 1 and "CURRENT" in _one_error_line(err) and "python -m bot build" in err
    code, out, err = _cli(capsys, settings_file, "build")
    assert code == 0, err
    assert _cli(capsys, settings_file, "health")[0] == 0
    assert "超110家" in _cli(capsys, settings_file, "ask", "城市书房有多少家")[1]


def test_two_builds_at_once_leave_the_pointer_on_a_build_that_exists(tmp_path, monkeypatch):
    """Build B has renamed its folder in but not yet moved the pointer when build A (newer) publishes and
    prunes with index_keep_builds 1: without a lock A deletes B, then B points CURRENT at nothing."""
    from bot.index import build as index_module

    settings = make_settings(tmp_path, embedding_model=FAKE_MODEL, index_keep_builds=1)
    replace_pointer = index_module.replace_pointer
    hooked = threading.Event()
    results: list[object] = []

    def build_a() -> None:
        try:
            results.append(build_index(settings, load_embedder))
        except Exception as exc:  # reported below
            results.append(exc)

    def pointer_of_b(index_dir: Path, build_id: str) -> None:
        if not hooked.is_set():  # B, between its rename and its pointer: A runs now (or waits for the lock)
            hooked.set()
            other = threading.Thread(target=build_a)
            other.start()
            other.join(timeout=3)
            results.append(other)
        replace_pointer(index_dir, build_id)

    monkeypatch.setattr(index_module, "replace_pointer", pointer_of_b)
    build_index(settings, load_embedder)
    assert hooked.is_set()
    for thread in [r for r in results if isinstance(r, threading.Thread)]:
        thread.join(timeout=30)
    assert not [r for r in results if isinstance(r, Exception)], results
    build = current_build(settings.path("index_dir"))
    assert build is not None and build.is_dir()
    assert load_index(settings, FAKE_MODEL).build_id == build.name


@pytest.mark.parametrize("fault", ["model id edited", "faiss.index overwritten", "file missing"])
def test_the_shallow_health_check_sees_what_ask_would_refuse(tmp_path, capsys, fault):
    settings_file = _settings_file(tmp_path)
    assert _cli(capsys, settings_file, "build")[0] == 0
    build = current_build(tmp_path / "index")
    if fault == "model id edited":
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        manifest["model_id"] = "some-other-model"
        (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    elif fault == "faiss.index overwritten":
        (build / "faiss.index").write_bytes((build / "vectors.npy").read_bytes())
    else:
        (build / "chunks.jsonl").unlink()
    assert _cli(capsys, settings_file, "ask", "城市书房有多少家")[0] == 1  # what ask refuses…
    code, out, err = _cli(capsys, settings_file, "health")
    assert code == 1 and out == ""  # …the HEALTHCHECK refuses too
    _one_error_line(err)
    assert _cli(capsys, settings_file, "build")[0] == 0
    assert _cli(capsys, settings_file, "health")[0] == 0


def test_health_live_needs_a_fresh_heartbeat_from_serve(tmp_path, capsys):
    settings_file = _settings_file(tmp_path, heartbeat_max_age=30,
                                   heartbeat_file=str(tmp_path / "data" / "heartbeat"))
    assert _cli(capsys, settings_file, "build")[0] == 0
    code, _, err = _cli(capsys, settings_file, "health", "--live")
    assert code == 1 and "heartbeat" in _one_error_line(err)  # serve never ran
    heartbeat = tmp_path / "data" / "heartbeat"
    heartbeat.parent.mkdir(parents=True, exist_ok=True)
    heartbeat.write_text("polling\n", encoding="utf-8")
    assert _cli(capsys, settings_file, "health", "--live")[0] == 0
    stale = heartbeat.stat().st_mtime - 300
    os.utime(heartbeat, (stale, stale))  # serve stopped polling five minutes ago
    code, _, err = _cli(capsys, settings_file, "health", "--live")
    assert code == 1 and "heartbeat" in _one_error_line(err)


@pytest.mark.parametrize("fault", ["in the future", "a folder", "a loop of links"])
def test_health_live_refuses_a_heartbeat_that_cannot_show_serve_is_working(tmp_path, capsys, fault):
    heartbeat = tmp_path / "data" / "heartbeat"
    settings_file = _settings_file(tmp_path, heartbeat_max_age=30, heartbeat_file=str(heartbeat))
    assert _cli(capsys, settings_file, "build")[0] == 0
    heartbeat.parent.mkdir(parents=True, exist_ok=True)
    if fault == "in the future":
        heartbeat.write_text("polling\n", encoding="utf-8")
        ahead = heartbeat.stat().st_mtime + 3600  # a clock set back by an hour since serve wrote it
        os.utime(heartbeat, (ahead, ahead))
    elif fault == "a folder":
        heartbeat.mkdir()
    else:
        heartbeat.symlink_to(heartbeat)
    code, _, err = _cli(capsys, settings_file, "health", "--live")
    line = _one_error_line(err)
    assert code == 1 and str(heartbeat) in line and ("future" in line or "not a file" in line or "cannot" in line)


# ---- 2. the model's identity is a fingerprint of its files ---------------------------------------------------

class _FolderModel(HashingModel):
    """A test double loaded from a folder: its dimension comes from the folder's config file."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.dimension = json.loads((folder / "config.json").read_text(encoding="utf-8"))["dimension"]


def test_a_model_folder_swapped_at_the_same_path_is_noticed(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"dimension": 64}', encoding="utf-8")
    (folder / "weights.bin").write_bytes(b"\x01" * 1000)
    embedding.register_model(str(folder), lambda threads: _FolderModel(folder))
    settings = make_settings(tmp_path, embedding_model=str(folder))
    build_index(settings, load_embedder)
    (folder / "weights.bin").write_bytes(b"\x02" * 1000)  # other weights, same path, same size
    with pytest.raises(IndexLoadError, match="fingerprint"):
        from bot.engine import Engine
        Engine(settings)
    again = build_index(settings, load_embedder)
    assert again.reused == 0 and again.embedded > 0  # nothing taken from the other model's build
    (folder / "config.json").write_text('{"dimension": 32}', encoding="utf-8")  # another dimension
    resized = build_index(settings, load_embedder)
    assert resized.reused == 0
    assert load_index(settings, str(folder)).chunk_vectors.shape[1] == 32


def test_a_model_folder_cannot_run_its_own_code_unless_trusted(tmp_path):
    folder = tmp_path / "untrusted-model"
    folder.mkdir()
    marker = tmp_path / "code-ran"
    (folder / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "", "type": "evil_module.Evil"}]), encoding="utf-8")
    (folder / "evil_module.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\nclass Evil:\n    pass\n", encoding="utf-8")
    with pytest.raises(EmbeddingError, match="embedding_trust_remote_code"):
        load_embedder(make_settings(tmp_path, embedding_model=str(folder)))
    assert not marker.exists()


# ---- 3. feedback store: never in the way of an answer; backups never clobber ------------------------------

def test_an_odd_byte_in_the_salt_file_costs_the_record_not_the_answer(tmp_path, caplog):
    settings = make_settings(tmp_path)
    store = Store(settings)
    store.salt_path.parent.mkdir(parents=True, exist_ok=True)
    store.salt_path.write_bytes(b"\xff" + b"a" * 63 + b"\n")
    assert store.record_question(42, "城市书房有多少家", True) is None  # logged, not raised
    assert store.vote(1, 42, 1).stored is False
    assert len(store.log_hash(42)) == 16
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "salt file" in errors[0].getMessage()  # one line for the one failed write
    store.close()


@pytest.fixture
def feedback_db(tmp_path: Path) -> Path:
    settings = make_settings(tmp_path, feedback_db=str(tmp_path / "data" / "feedback.sqlite3"))
    store = Store(settings)
    for i in range(5):
        store.record_question(i, f"问题{i}", True)
    store.close()
    return settings.path("feedback_db")


@pytest.mark.parametrize("target", [".salt", "-wal", "-shm", "", "other-existing"])
def test_backup_refuses_to_overwrite_the_database_its_files_or_the_data_folder(feedback_db, capsys, target):
    destination = feedback_db.parent / "other.txt" if target == "other-existing" else \
        feedback_db.with_name(feedback_db.name + target)
    if not destination.exists():
        destination.write_bytes(b"precious")
    before = destination.read_bytes()
    code, _, err = _cli(capsys, None, "--set", f"feedback_db={feedback_db}", "backup", str(destination))
    assert code == 1 and "refus" in _one_error_line(err)
    assert destination.read_bytes() == before
    with pytest.raises(FeedbackStoreError):
        backup_database(feedback_db, destination)
    assert destination.read_bytes() == before


def test_backup_into_a_new_file_of_the_data_folder_is_fine(feedback_db, capsys):
    destination = feedback_db.parent / "copy.sqlite3"
    code, out, err = _cli(capsys, None, "--set", f"feedback_db={feedback_db}", "backup", str(destination))
    assert code == 0, err
    assert sqlite3.connect(destination).execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 5


@pytest.mark.parametrize("change", ["deleted", "replaced"])
def test_a_database_deleted_or_replaced_while_serving_is_noticed(tmp_path, change):
    settings = make_settings(tmp_path)
    store = Store(settings)
    question = store.record_question(7, "城市书房有多少家", True)
    tag = store.vote_tag(question, 7, "城市书房有多少家")  # what the answer's 👍 button carries
    path = settings.path("feedback_db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if change == "replaced":  # the operator restores another copy: its own rows, no question `question`
        other = Store(settings)
        other.record_question(8, "另一个问题", True)
        other.record_question(8, "第三个问题", True)
        other.close()
    result = store.vote(question, 7, 1, chat_id=7, tag=tag)
    assert not result.stored  # no thanks for a vote that went nowhere, nor one on another question
    assert store.record_question(7, "新问题", True) is not None
    assert path.exists()
    rows = sqlite3.connect(path).execute("SELECT question FROM questions ORDER BY id").fetchall()
    assert ("新问题",) in rows  # written to the file on disk, not to a deleted one
    store.close()


# ---- 5. settings, input lines, disk ---------------------------------------------------------------------------

@pytest.mark.parametrize("setting, value", [("chunk_max_chars", "0"), ("dense_candidates", "0"),
                                            ("search_top_k", "-1"), ("abstain_min_score", "2"),
                                            ("telegram_mode", "pigeon"), ("webhook_port", "70000"),
                                            ("index_keep_builds", "0"), ("log_level", "LOUD"),
                                            ("index_dir", " ")])
def test_out_of_range_settings_are_refused_naming_them(tmp_path, capsys, setting, value):
    # (`settings`, not `build`: chunk_max_chars 0 once made build loop forever, eating memory)
    code, _, err = _cli(capsys, _settings_file(tmp_path), "--set", f"{setting}={value}", "settings")
    assert code == 1 and setting in _one_error_line(err)
    with pytest.raises(ConfigError, match=setting):
        load_settings(environ={f"BOT_{setting.upper()}": value})
    (tmp_path / "settings.yaml").write_text(f"{setting}: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=setting):
        load_settings(tmp_path / "settings.yaml", environ={})


def test_a_secret_on_the_command_line_is_refused_without_repeating_it(tmp_path, capsys):
    code, out, err = _cli(capsys, _settings_file(tmp_path), "--set", "telegram_token=123456:LEAKED-TOKEN",
                          "settings")
    assert code == 1 and "TELEGRAM_BOT_TOKEN" in _one_error_line(err)
    assert "LEAKED" not in out + err


@pytest.mark.parametrize("content", [
    b"root:$6$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    b"user: SECRETHASH\n  broken: [\n",
    b"\xff\xfeS\x00E\x00C\x00R\x00E\x00T\x00H\x00A\x00S\x00H\x00",
    b"search_top_k: SECRETHASH-and-much-more-text-than-a-setting-value-would-be-SECRETHASH\n",
])
def test_settings_errors_never_echo_the_file(tmp_path, capsys, content):
    wrong = tmp_path / "not-settings"
    wrong.write_bytes(content)
    code, out, err = _cli(capsys, wrong, "settings")
    assert code == 1 and str(wrong) in _one_error_line(err)
    assert "SECRETHASH" not in out + err


def test_a_settings_path_that_is_a_folder_is_one_message(tmp_path, capsys):
    code, _, err = _cli(capsys, tmp_path, "settings")
    assert code == 1 and "not a file" in _one_error_line(err)


def test_ask_json_reports_an_undecodable_line_and_goes_on(tmp_path, capsys, monkeypatch):
    settings_file = _settings_file(tmp_path)
    assert _cli(capsys, settings_file, "build")[0] == 0
    lines = "城市书房有多少家\n".encode() + b"\xff\xfe broken \xc3\n" + "大病保险报销比例提高到了多少？\n".encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(lines), encoding="utf-8"))
    code, out, err = _cli(capsys, settings_file, "ask", "--json")
    assert code == 0, err
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == 3
    assert "超110家" in results[0]["reply"] and "80%" in results[2]["reply"]
    assert results[1]["line"] == 2 and "UTF-8" in results[1]["error"]


def test_a_full_disk_during_build_is_one_line_saying_what_to_free(tmp_path, capsys, monkeypatch):
    settings_file = _settings_file(tmp_path)
    assert _cli(capsys, settings_file, "build")[0] == 0
    before = current_build(tmp_path / "index")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("bot.index.build.np.savez", full)
    code, _, err = _cli(capsys, settings_file, "--set", "chunk_max_chars=150", "build")
    line = _one_error_line(err)
    assert code == 1 and "disk" in line and str(tmp_path / "index") in line
    assert current_build(tmp_path / "index") == before  # the old build still serves
    assert not list((tmp_path / "index" / "builds").glob(".tmp-*"))
