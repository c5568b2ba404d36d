"""Docs are tested: every command has help text with an example, and the README shows it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import typer
from typer._click.core import Context
from typer.core import TyperGroup
from typer.main import get_command

from credwatch.cli.main import COMMANDS, app

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> Iterator[tuple[str, object]]:
    root = get_command(app)

    def walk(cmd: object, path: str) -> Iterator[tuple[str, object]]:
        if isinstance(cmd, TyperGroup):
            ctx = Context(cmd)
            for name in cmd.list_commands(ctx):
                yield from walk(cmd.get_command(ctx, name), f"{path} {name}".strip())
        else:
            yield path, cmd

    yield from walk(root, "")


def test_every_command_has_help_with_an_example() -> None:
    missing = []
    for path, cmd in _commands():
        text = getattr(cmd, "help", None) or ""
        if "Example" not in text or "credwatch" not in text.split("Example", 1)[1]:
            missing.append(path)
    assert not missing, f"commands without an `Example:` in their help: {missing}"


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [path for path, _ in _commands() if f"credwatch {path}" not in readme]
    assert not missing, f"commands the README does not show: {missing}"


def test_readme_opens_with_the_two_fresh_machine_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```")
    first_code = blocks[1::2][:2]
    assert "credwatch demo" in first_code[0]
    assert "pytest" in first_code[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = first_code[1].strip().splitlines()[-1]
    assert "python3 -m pytest" in test_command
    assert "python3 -m pytest" in ci


def test_commands_load_only_when_used() -> None:
    """`credwatch hunt` must not pay for SQLAlchemy and the supply stack (start-up time)."""
    code = (
        "import sys; from credwatch.cli.main import app; "
        "from typer.testing import CliRunner; "
        "CliRunner().invoke(app, ['hunt', '--help']); "
        "heavy = ('sqlalchemy', 'credwatch.supply', 'jinja2'); "
        "print(' '.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert len(list(_commands())) > len(COMMANDS)


def test_typer_app_is_a_typer() -> None:
    assert isinstance(app, typer.Typer)
