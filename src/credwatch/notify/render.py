"""Rendering notifications from the jinja2 templates (Japanese and English).

A template's first line is ``Subject: ...``; the rest is the plain-text body.  The
context holds the tenant's display name, the account's actions and findings and the
sender's name -- never an address or a password.

Example:
    >>> text = render_text("en", tenant_name="Nifty", actions=["lock"], findings=["pair_valid"])
    >>> text.subject
    '[Nifty] Security notice about your account'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from functools import cache
from typing import Literal

import jinja2

from credwatch.errors import UsageError

__all__ = ["LANGUAGES", "Language", "RenderedText", "build_message", "render_text"]

Language = Literal["ja", "en"]
LANGUAGES: tuple[Language, ...] = ("ja", "en")


@dataclass(frozen=True, slots=True)
class RenderedText:
    """A rendered notification: subject and body."""

    subject: str
    body: str


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("credwatch.notify", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - plain-text mail, never HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_text(
    lang: str,
    *,
    tenant_name: str,
    actions: Sequence[str],
    findings: Sequence[str],
    sender_name: str = "Security team",
) -> RenderedText:
    """Render one notification.

    Raises:
        UsageError: for a language without a template.
    """
    if lang not in LANGUAGES:
        raise UsageError(f"no notification template for language {lang!r}", hint="use ja or en")
    text = (
        _environment()
        .get_template(f"{lang}.txt.j2")
        .render(
            tenant_name=tenant_name,
            actions=list(actions),
            findings=list(findings),
            sender_name=sender_name,
        )
    )
    first, _, body = text.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return RenderedText(subject=subject, body=body)


def build_message(text: RenderedText, *, sender: str, recipient: str) -> Message:
    """An RFC 5322 message (UTF-8 body, RFC 2047 subject) for one recipient.

    Built with the ``compat32`` classes: the header registry of ``EmailMessage`` costs
    several milliseconds per message, too slow for tenants of a million subscribers.
    """
    message = MIMEText(text.body, "plain", "utf-8")
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = Header(text.subject, "utf-8").encode()
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    return message
