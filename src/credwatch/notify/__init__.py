"""User notifications for a plan: per-tenant batches in Japanese or English.

Exported as ``.eml`` files (:class:`EmlDirectory`) or sent over SMTP with retry
(:class:`SmtpSink`).  Messages say what happened and what the user must do, never a
password; addresses come from the store at send time.

Example:
    >>> from credwatch.notify import EmlDirectory, notify_plan          # doctest: +SKIP
    >>> sink = EmlDirectory(Path("out"))                               # doctest: +SKIP
    >>> notify_plan(ws, Path("fix.plan.json"), sink, lang="en")         # doctest: +SKIP
"""

from credwatch.notify.eml import EmlDirectory
from credwatch.notify.interface import Delivery, MessageResult, MessageSink
from credwatch.notify.render import LANGUAGES, RenderedText, build_message, render_text
from credwatch.notify.run import NotifyReport, NotifySettings, notify_plan, notify_settings
from credwatch.notify.smtp import SmtpSink, parse_hostport

__all__ = [
    "LANGUAGES",
    "Delivery",
    "EmlDirectory",
    "MessageResult",
    "MessageSink",
    "NotifyReport",
    "NotifySettings",
    "RenderedText",
    "SmtpSink",
    "build_message",
    "notify_plan",
    "notify_settings",
    "parse_hostport",
    "render_text",
]
