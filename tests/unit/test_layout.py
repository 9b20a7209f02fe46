"""The product package holds the product: nothing in bot/ imports the development tooling."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
TOOLING = {"devtools", "tests"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_product_code_never_imports_the_tooling() -> None:
    offenders = {f"{path.relative_to(BOT)}: {name}" for path in BOT.rglob("*.py") for name in imported_modules(path)
                 if name.split(".")[0] in TOOLING}
    assert not offenders


def test_the_docker_image_leaves_the_tooling_out() -> None:
    ignored = (BOT.parent / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"devtools", "tests"} <= set(ignored)
