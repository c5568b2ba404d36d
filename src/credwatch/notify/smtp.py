"""Sending notifications over SMTP with retry and a result per message.

One connection per tenant batch.  A temporary failure (a 4xx reply, a dropped or
refused connection) is retried up to ``attempts`` times with exponential backoff,
reconnecting when needed; a permanent one (5xx) is not.  Each message gets a
:class:`~credwatch.notify.interface.MessageResult` with the attempts made and the last
reply code -- never the address.  STARTTLS is used when the server offers it.

Example:
    >>> sink = SmtpSink("127.0.0.1", 2525)         # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import Message

from credwatch.errors import UsageError
from credwatch.normalize import mask_email
from credwatch.notify.interface import MessageResult

__all__ = ["SmtpSink", "parse_hostport"]


def parse_hostport(value: str) -> tuple[str, int]:
    """Parse ``HOST:PORT``.

    Raises:
        UsageError: when it is not ``HOST:PORT`` with a port in 1..65535.
    """
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--smtp {value!r} is not HOST:PORT", hint="e.g. --smtp 127.0.0.1:25")
    return host.strip("[]"), int(port)


_ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")


def _text(reply: bytes | str) -> str:
    """A server reply for the results: servers often echo the address, so it is masked."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    return _ADDRESS.sub(lambda m: mask_email(m.group(0)), text)[:160]


class SmtpSink:
    """Delivers messages through one SMTP server."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        attempts: int = 3,
        backoff: float = 0.5,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host
        self.port = port
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._sleep = sleep
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._conn is None:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo_or_helo_if_needed()
            if conn.has_extn("starttls"):
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _send_one(self, account: str, tenant: str, message: Message) -> MessageResult:
        detail = None
        for attempt in range(1, self.attempts + 1):
            try:
                self._connect().send_message(message)
                return MessageResult(account, tenant, "sent", attempt, "250")
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                detail = f"{code} {_text(text)}"
                self._reset()
                if code < 400 or code >= 500:
                    return MessageResult(account, tenant, "failed", attempt, detail)
            except smtplib.SMTPResponseException as exc:
                detail = f"{exc.smtp_code} {_text(exc.smtp_error)}"
                self._reset()
                if exc.smtp_code < 400 or exc.smtp_code >= 500:
                    return MessageResult(account, tenant, "failed", attempt, detail)
            except (smtplib.SMTPException, OSError) as exc:
                detail = type(exc).__name__
                self._drop()
            if attempt < self.attempts:
                self._sleep(self.backoff * 2 ** (attempt - 1))
        return MessageResult(account, tenant, "failed", self.attempts, detail)

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def deliver(self, tenant: str, items: list[tuple[str, Message]]) -> list[MessageResult]:
        """Send the batch over one connection (reconnecting after a drop)."""
        try:
            return [self._send_one(account, tenant, message) for account, message in items]
        finally:
            if self._conn is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self._conn.quit()
                self._drop()
