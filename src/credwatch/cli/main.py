"""The root of the ``credwatch`` command line.

Every command group lives in its own module and is registered here.  Errors are
turned into messages and exit codes in exactly one place, :func:`run`.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import typer
from rich.markup import escape
from typer._click.core import Context as TyperContext
from typer._click.exceptions import ClickException  # typer vendors click
from typer.core import TyperGroup

from credwatch import __version__
from credwatch.cli import accounts as accounts_cmd
from credwatch.cli import apply as apply_cmd
from credwatch.cli import audit as audit_cmd
from credwatch.cli import demo_cmd, init_cmd
from credwatch.cli import hunt as hunt_cmd
from credwatch.cli import journal as journal_cmd
from credwatch.cli import leak as leak_cmd
from credwatch.cli import notify as notify_cmd
from credwatch.cli import passwords as passwords_cmd
from credwatch.cli import plan as plan_cmd
from credwatch.cli import report as report_cmd
from credwatch.cli import serve as serve_cmd
from credwatch.cli import supply as supply_cmd
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


class _ErrorMappingGroup(TyperGroup):
    """Turns errors into messages and exit codes in one place, for every command.

    Living in the command group (not in ``run``) means the console script and
    typer's test runner behave identically.
    """

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


# Command registrations, in the order `credwatch --help` lists them (one line each).
app.command("init")(init_cmd.init)
app.command("demo")(demo_cmd.demo)
app.add_typer(leak_cmd.app, name="leak")
app.add_typer(passwords_cmd.app, name="passwords")
app.add_typer(accounts_cmd.app, name="accounts")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(plan_cmd.app, name="plan")
app.command("apply")(apply_cmd.apply)
app.command("notify")(notify_cmd.notify)
app.command("hunt")(hunt_cmd.hunt)
app.add_typer(journal_cmd.app, name="journal")
app.command("report")(report_cmd.report)
app.add_typer(supply_cmd.app, name="supply")
app.command("serve")(serve_cmd.serve_cmd)


def run() -> None:
    """Entry point of the ``credwatch`` console script."""
    app(prog_name="credwatch")
