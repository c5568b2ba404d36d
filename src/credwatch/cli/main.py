"""The root of the ``credwatch`` command line.

Every command group lives in its own module and is registered here.  Errors are
turned into messages and exit codes in exactly one place, :func:`run`.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

import typer
from rich.markup import escape
from typer._click.core import Command
from typer._click.core import Context as TyperContext
from typer._click.exceptions import ClickException  # typer vendors click
from typer.core import TyperGroup

from credwatch import __version__
from credwatch.cli.common import CliState, err_console, state
from credwatch.errors import EXIT_BUG, CredwatchError

HELP = """Respond to a leaked email:password dump: find exposed accounts, remediate them,
hunt credential stuffing, refuse breached passwords, and map supply-chain risk.

Exit codes: 0 success, 2 usage or configuration error, 3 bad input data,
4 an external service failed, 10 findings present (only with --fail-on),
1 an unexpected crash (a bug).

Example:

    credwatch init && credwatch leak ingest dump.txt.gz && credwatch leak stats
"""


# Every command, in the order `credwatch --help` lists them: name -> (module, attribute).
# The attribute is a typer app (a command group) or a command function.  A module is
# imported only when its command runs or help lists it, so `credwatch hunt` does not
# pay for SQLAlchemy, jinja2 or the supply stack.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("credwatch.cli.init_cmd", "init"),
    "demo": ("credwatch.cli.demo_cmd", "demo"),
    "leak": ("credwatch.cli.leak", "app"),
    "passwords": ("credwatch.cli.passwords", "app"),
    "accounts": ("credwatch.cli.accounts", "app"),
    "audit": ("credwatch.cli.audit", "app"),
    "plan": ("credwatch.cli.plan", "app"),
    "apply": ("credwatch.cli.apply", "apply"),
    "notify": ("credwatch.cli.notify", "notify"),
    "hunt": ("credwatch.cli.hunt", "hunt"),
    "journal": ("credwatch.cli.journal", "app"),
    "report": ("credwatch.cli.report", "report"),
    "supply": ("credwatch.cli.supply", "app"),
    "serve": ("credwatch.cli.serve", "serve_cmd"),
}


def _load_command(name: str) -> Command:
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    command: Command
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)  # a group even when it has one command
    else:
        single = typer.Typer(rich_markup_mode=None)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class _ErrorMappingGroup(TyperGroup):
    """Turns errors into messages and exit codes in one place, for every command.

    Living in the command group (not in ``run``) means the console script and
    typer's test runner behave identically.
    """

    def list_commands(self, ctx: TyperContext) -> list[str]:
        """All command names, without importing their modules."""
        return list(COMMANDS)

    def get_command(self, ctx: TyperContext, cmd_name: str) -> Command | None:
        """The named command, its module imported on first use."""
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.add_command(_load_command(cmd_name), cmd_name)
        return self.commands[cmd_name]

    def invoke(self, ctx: TyperContext) -> object:
        """Run the command; map credwatch errors and crashes to documented exit codes."""
        debug = "--debug" in sys.argv or (isinstance(ctx.obj, CliState) and ctx.obj.debug)
        try:
            return super().invoke(ctx)
        except CredwatchError as exc:
            if debug:
                traceback.print_exc()
            err_console.print(f"[bold red]error:[/] {escape(exc.diagnostics())}")
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None
        except Exception:  # noqa: BLE001 - the one place a crash becomes "this is a bug"
            if debug:
                traceback.print_exc()
            else:
                err_console.print(
                    "credwatch crashed unexpectedly; this is a bug. "
                    "Re-run with --debug for a traceback and please report it."
                )
            raise typer.Exit(EXIT_BUG) from None


app = typer.Typer(
    cls=_ErrorMappingGroup,
    help=HELP,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"credwatch {__version__}")
        raise typer.Exit


@app.callback()
def main(
    ctx: typer.Context,
    workspace: Path | None = typer.Option(  # noqa: B008 - typer's declaration style
        None,
        "--workspace",
        envvar="CREDWATCH_HOME",
        help="Workspace folder (default ./credwatch-workspace).",
        show_default=False,
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Global options."""
    st = state(ctx)
    st.workspace = workspace
    st.debug = debug


def run() -> None:
    """Entry point of the ``credwatch`` console script."""
    app(prog_name="credwatch")
