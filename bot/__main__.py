"""`python -m bot`: see bot.cli."""

from .cli import run_program

run_program()
