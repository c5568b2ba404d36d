"""Retention policies: which stored credentials are kept too long or too weakly.

A policy is a TOML file of rules; every matching rule adds its actions::

    schema_version = 1

    [[rules]]
    name = "cancelled-90-days"
    reason = "Cancelled more than 90 days ago: the credential serves no one."
    status = ["cancelled"]
    inactive_days = 90
    actions = ["purge_credential"]

    [[rules]]
    name = "dormant-365-days"
    status = ["dormant"]
    inactive_days = 365
    actions = ["lock", "force_reset"]

    [[rules]]
    name = "weak-storage"
    schemes = ["weak"]
    actions = ["force_reset"]

Rule keys: ``name``, ``reason``, ``actions`` and at least one condition: ``status``
(list), ``inactive_days`` (no login for more than N days, or never -- credwatch has no
cancellation date, so the last login stands for it), ``schemes`` (Dovecot scheme names
as :func:`credwatch.hashes.identify` spells them, or ``weak`` for what it calls weak:
plaintext, unsalted fast digests, DES-based crypt, MD5 contexts).

Example:
    >>> text = '[[rules]]\\nname="a"\\nschemes=["weak"]\\nactions=["force_reset"]'
    >>> p = parse_retention_policy(text, "x")
    >>> p.rules[0].actions
    ('force_reset',)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from credwatch.errors import ConfigError
from credwatch.hashes import identify
from credwatch.plan.model import Action
from credwatch.plan.policy import check_actions, check_rule_table, read_policy_toml

__all__ = [
    "RetentionPolicy",
    "RetentionRule",
    "load_retention_policy",
    "parse_retention_policy",
]

_KEYS = frozenset({"name", "reason", "status", "inactive_days", "schemes", "actions"})
_STATUSES = frozenset({"active", "dormant", "cancelled", "unknown"})


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """One retention rule (all given conditions must hold)."""

    name: str
    reason: str
    actions: tuple[Action, ...]
    status: frozenset[str] | None = None
    inactive_days: int | None = None
    schemes: frozenset[str] | None = None

    def basis(
        self, status: str, last_login: datetime | None, password_hash: str | None, now: datetime
    ) -> str | None:
        """Why the rule applies to an account (no secret in it), or ``None`` if it does not."""
        days = None if last_login is None else (now - last_login).days
        if self.schemes is None:
            return self.basis_for(status, days, "", weak=False)
        info = identify(password_hash)
        return self.basis_for(status, days, info.scheme, weak=bool(info.weak))

    def basis_for(self, status: str, days: int | None, scheme: str, *, weak: bool) -> str | None:
        """:meth:`basis` from what it depends on: days since the last login (``None``:
        never) and the identified scheme, so callers can decide once per distinct case."""
        parts: list[str] = []
        if self.status is not None:
            if status not in self.status:
                return None
            parts.append(status)
        if self.inactive_days is not None:
            if days is None:
                parts.append("never logged in")
            else:
                if days <= self.inactive_days:
                    return None
                parts.append(f"last login {days} days ago")
        if self.schemes is not None:
            if not (scheme in self.schemes or ("weak" in self.schemes and weak)):
                return None
            parts.append(f"scheme {scheme}")
        return ", ".join(parts)

    def describe(self) -> dict[str, Any]:
        """The rule as recorded in a plan's ``rules`` table."""
        out: dict[str, Any] = {"reason": self.reason, "actions": list(self.actions)}
        if self.status is not None:
            out["status"] = sorted(self.status)
        if self.inactive_days is not None:
            out["inactive_days"] = self.inactive_days
        if self.schemes is not None:
            out["schemes"] = sorted(self.schemes)
        return out


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Ordered retention rules, with the policy's name and digest."""

    name: str
    digest: str
    rules: tuple[RetentionRule, ...]


def _rule(table: Any, index: int, where: str) -> RetentionRule:
    raw, name, here = check_rule_table(table, index, where, _KEYS)
    status = raw.get("status")
    if status is not None and (
        not isinstance(status, list) or not status or not set(status) <= _STATUSES
    ):
        raise ConfigError(f"{here}: status must be a list of {', '.join(sorted(_STATUSES))}")
    days = raw.get("inactive_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 0):
        raise ConfigError(f"{here}: inactive_days must be a whole number of days >= 0")
    schemes = raw.get("schemes")
    if schemes is not None and (
        not isinstance(schemes, list) or not schemes or not all(isinstance(s, str) for s in schemes)
    ):
        raise ConfigError(f'{here}: schemes must be a list of scheme names (or "weak")')
    if status is None and days is None and schemes is None:
        raise ConfigError(
            f"{here}: has no condition and would match every account",
            hint="give status, inactive_days or schemes",
        )
    reason = raw.get("reason", name)
    if not isinstance(reason, str):
        raise ConfigError(f"{here}: reason must be a string")
    return RetentionRule(
        name=name,
        reason=reason,
        actions=check_actions(raw.get("actions"), here),
        status=frozenset(status) if status is not None else None,
        inactive_days=days,
        schemes=frozenset(s if s == "weak" else s.upper() for s in schemes) if schemes else None,
    )


def parse_retention_policy(text: str, name: str) -> RetentionPolicy:
    """Parse a retention policy from TOML text.

    Raises:
        ConfigError: invalid TOML, unknown keys or actions, a rule without conditions,
            duplicate rule names.
    """
    data, digest = read_policy_toml(text, name)
    rules = tuple(_rule(r, i, name) for i, r in enumerate(data["rules"]))
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{name}: duplicate rule names: {', '.join(duplicates)}")
    return RetentionPolicy(name=name, digest=digest, rules=rules)


def load_retention_policy(path: Path) -> RetentionPolicy:
    """Load a retention policy file.

    Raises:
        ConfigError: when it cannot be read or is invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the policy {path}: {exc}") from None
    return parse_retention_policy(text, str(path))
