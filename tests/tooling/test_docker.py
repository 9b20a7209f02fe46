"""The Dockerfile cannot be built here (no Docker engine): check that what it names exists and is sane."""

import re
import shlex
from pathlib import Path

import yaml

from bot.cli import parser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions():
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            yield keyword.upper(), rest.strip()


def _bot_commands(text):
    """Subcommands of every `python -m bot …` in a shell or exec-form command."""
    text = text.replace('", "', " ").replace('["', "").replace('"]', "")
    return re.findall(r"python -m bot ([a-z]+)", text)


def test_copied_files_exist():
    for keyword, rest in _instructions():
        if keyword == "COPY":
            *sources, _ = shlex.split(rest)
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repo"


def test_bot_commands_it_runs_exist():
    known = set(parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    used = [c for keyword, rest in _instructions() if keyword in {"RUN", "CMD", "HEALTHCHECK"}
            for c in _bot_commands(rest)]
    assert {"build", "serve", "health"} <= set(used)
    assert set(used) <= known


def test_torch_cpu_first_non_root_and_no_token_baked_in():
    order = [(k, r) for k, r in _instructions() if k == "RUN"]
    torch_step = next(i for i, (_, r) in enumerate(order) if "torch==" in r)
    package_step = next(i for i, (_, r) in enumerate(order) if "pip install ." in r)
    assert torch_step < package_step and "whl/cpu" in order[torch_step][1]
    users = [r for k, r in _instructions() if k == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert "TELEGRAM_BOT_TOKEN=" not in "".join(r for k, r in _instructions() if k in {"ENV", "ARG"})
    assert any(k == "HEALTHCHECK" for k, _ in _instructions())
    base = next(r for k, r in _instructions() if k == "FROM")
    assert "slim" in base


def test_compose_keeps_feedback_in_a_volume_and_takes_secrets_from_the_environment():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    service = compose["services"]["bot"]
    assert any(v.endswith(":/app/data") for v in service["volumes"])
    assert service["environment"]["TELEGRAM_BOT_TOKEN"].startswith("${TELEGRAM_BOT_TOKEN")
    volume_dirs = [r for k, r in _instructions() if k == "VOLUME"]
    assert volume_dirs and "/app/data" in volume_dirs[0]


def test_the_image_installs_every_package_of_the_bot():
    """`pip install .` (the Dockerfile's) installs only the packages pyproject.toml lists: a sub-package left
    out (bot/store) would be missing from the image although every test passes in the checkout."""
    import tomllib

    from setuptools import find_packages

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = setuptools.get("packages")
    listed = set(found) if isinstance(found, list) else set(find_packages(ROOT, **found["find"]))
    packages = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "bot").rglob("__init__.py")}
    assert packages <= listed, f"add {sorted(packages - listed)} to the packages of pyproject.toml"
    assert not any(name.startswith(("devtools", "tests")) for name in listed), "only the product goes in the image"
