"""The one error hierarchy of credwatch.

Every error credwatch raises on purpose derives from :class:`CredwatchError`.  Its
message is *safe*: it names files, line numbers, counts or account ids, never a
leaked address or password.  The CLI catches it in exactly one place, prints the
message and hint, and exits with :attr:`CredwatchError.exit_code`.

Exit codes (documented contract, see ``credwatch --help``)::

    0   success
    1   unexpected crash (a bug: please report it)
    2   usage or configuration error           UsageError, ConfigError
    3   bad input data                         InputError, ParseError
    4   an external service failed             ExternalServiceError
    10  findings present (only with --fail-on) FindingsPresentError
"""

from __future__ import annotations

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BUG",
    "EXIT_EXTERNAL",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "ConfigError",
    "CredwatchError",
    "ExternalServiceError",
    "FindingsPresentError",
    "InputError",
    "KeyPermissionError",
    "ParseError",
    "UsageError",
]

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_EXTERNAL = 4
EXIT_FINDINGS = 10


class CredwatchError(Exception):
    """Base of every deliberate credwatch error.

    Args:
        message: what went wrong, safe to print (no leaked secret).
        hint: what the operator can do about it, or ``None``.
    """

    exit_code: int = EXIT_BUG

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """Return the operator-facing text: the message, then the hint if any."""
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class UsageError(CredwatchError):
    """The command line was wrong (exit 2)."""

    exit_code = EXIT_USAGE


class ConfigError(CredwatchError):
    """The workspace or its configuration is missing or invalid (exit 2)."""

    exit_code = EXIT_USAGE


class KeyPermissionError(ConfigError):
    """A key file is readable by group or others; credwatch refuses to run (exit 2)."""


class InputError(CredwatchError):
    """Input data could not be used: missing, unreadable or entirely invalid (exit 3)."""

    exit_code = EXIT_BAD_INPUT


class ParseError(InputError, ValueError):
    """A file could not be parsed; the message names the file and, where known, the line.

    Args:
        message: what is wrong (never the line's content).
        path: the file, if any.
        line: the 1-based line number, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}", hint=hint)
        self.path = path
        self.line = line


class ExternalServiceError(CredwatchError):
    """A database, SMTP server or advisory service failed or was unreachable (exit 4)."""

    exit_code = EXIT_EXTERNAL


class FindingsPresentError(CredwatchError):
    """Findings were present and ``--fail-on`` asked to fail on them (exit 10)."""

    exit_code = EXIT_FINDINGS
