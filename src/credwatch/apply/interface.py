"""What a store connector must do to carry out a plan: the :class:`Actuator` protocol.

Implementations: :class:`credwatch.apply.sql.SqlActuator` (one transaction per batch,
with a checkpoint table in the same transaction) and
:class:`credwatch.apply.passwd_file.PasswdFileActuator` (one atomic rewrite).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, Protocol

from credwatch.apply.journal import PlanHistory
from credwatch.plan.model import Action

__all__ = ["Actuator", "BatchCallback", "IntentCallback", "Outcome", "Result", "WorkItem"]

#: ``applied``: changed now (or, in a dry run, would be); ``already``: in effect before,
#: nothing changed; ``not_found``: the account is no longer in the store.
Result = Literal["applied", "already", "not_found"]

#: One action on one account, by the plan's account id.
WorkItem = tuple[str, Action]


class Outcome(NamedTuple):
    """The result of one work item (immutable; a tuple, as a million are made per apply)."""

    account: str
    action: Action
    result: Result
    recovered: bool = False


#: Called after each committed batch with its outcomes (the engine journals them).
BatchCallback = Callable[[list[Outcome]], None]
#: Called with a record to journal *before* a change is committed (write-ahead intent).
IntentCallback = Callable[[dict[str, Any]], None]


class Actuator(Protocol):
    """Carries out actions on one store."""

    def validate(self, actions: Sequence[Action]) -> None:
        """Check every action is configured and the store has what it needs; change nothing.

        Raises:
            ConfigError: an action is not configured or names a missing column.
            ExternalServiceError: the store cannot be reached.
        """
        ...

    def snapshot_digest(self) -> str:
        """The store's current snapshot digest (as :mod:`credwatch.accounts` computes it)."""
        ...

    def recovered(self, plan_digest: str, history: PlanHistory) -> list[Outcome]:
        """Outcomes the store proves done by an earlier, crashed apply but the journal lacks."""
        ...

    def preview(self, items: Sequence[WorkItem]) -> list[Outcome]:
        """What executing ``items`` would do (dry run); changes nothing."""
        ...

    def execute(
        self,
        items: Sequence[WorkItem],
        plan_digest: str,
        on_batch: BatchCallback,
        on_intent: IntentCallback | None = None,
    ) -> None:
        """Carry out ``items`` batch by batch; call ``on_batch`` after each commit.

        Raises:
            ExternalServiceError: the store failed; the failing batch is rolled back.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
