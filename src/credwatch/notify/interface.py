"""Where notifications go: the :class:`MessageSink` protocol and per-message results.

Implementations: :class:`credwatch.notify.eml.EmlDirectory` (one ``.eml`` file per
message, per-tenant folders) and :class:`credwatch.notify.smtp.SmtpSink` (SMTP with
retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from typing import Literal, Protocol

__all__ = ["Delivery", "MessageResult", "MessageSink"]

#: ``sent`` (SMTP accepted it), ``written`` (.eml file), ``failed`` (after retries),
#: ``no_address`` (the store has no address for the account), ``not_found`` (the
#: account is no longer in the store).
Delivery = Literal["sent", "written", "failed", "no_address", "not_found"]


@dataclass(frozen=True, slots=True)
class MessageResult:
    """What happened to one account's notification (no address in it).

    Attributes:
        account: the plan's account id.
        tenant: the tenant.
        result: see :data:`Delivery`.
        attempts: delivery attempts made.
        detail: the server's last reply code and text, or the file name.
    """

    account: str
    tenant: str
    result: Delivery
    attempts: int = 0
    detail: str | None = None


class MessageSink(Protocol):
    """Delivers the messages of one tenant's batch."""

    def deliver(self, tenant: str, items: list[tuple[str, Message]]) -> list[MessageResult]:
        """Deliver ``(account id, message)`` pairs; one result per pair, in order."""
        ...
