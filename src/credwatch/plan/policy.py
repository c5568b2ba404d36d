"""Remediation policies: which audit findings lead to which actions.

A policy is a TOML file of ordered rules; every rule that matches an account adds its
actions (an action asked for twice is kept once, with the first rule as its reason).
The shipped default (``credwatch/plan/default_policy.toml``)::

    schema_version = 1
    [[rules]]
    name = "recovery-on-affected-domain"
    reason = "The recovery address is on a breached domain: ..."
    findings = ["recovery_exposed"]
    actions = ["require_mfa"]

    [[rules]]
    name = "leaked-password-works"
    findings = ["pair_valid"]
    actions = ["force_reset", "revoke_sessions"]
    ...

Rule keys: ``name`` (unique), ``reason`` (text for reviewers and notifications),
``findings`` (any of ``pair_valid``, ``pair_unverified``, ``pair_stale``, ``email_only``,
``recovery_exposed``, ``weak_scheme``, or ``exposed`` = any of the first four),
optional ``status`` (list of ``active``/``dormant``/``cancelled``/``unknown``), optional
``mfa`` (true/false), and ``actions`` (see :data:`credwatch.plan.model.ACTIONS`).

Example:
    >>> policy = default_policy()
    >>> [r.name for r in policy.rules][:2]
    ['recovery-on-affected-domain', 'leaked-password-works']
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from credwatch.errors import ConfigError
from credwatch.plan.model import ACTION_ORDER, ACTIONS, Action

__all__ = [
    "EXPOSED_FINDINGS",
    "FINDINGS",
    "RemediationPolicy",
    "RemediationRule",
    "check_actions",
    "check_rule_table",
    "default_policy",
    "load_remediation_policy",
    "read_policy_toml",
]

#: The audit's finding names (docs/contracts.md, "Audit runs").
FINDINGS = frozenset(
    {
        "pair_valid",
        "pair_unverified",
        "pair_stale",
        "email_only",
        "recovery_exposed",
        "weak_scheme",
    }
)
#: Findings that mean "the address is in the dump"; the policy alias ``exposed``.
EXPOSED_FINDINGS = ("pair_valid", "pair_unverified", "pair_stale", "email_only")
_STATUSES = frozenset({"active", "dormant", "cancelled", "unknown"})
_RULE_KEYS = frozenset({"name", "reason", "findings", "status", "mfa", "actions"})


@dataclass(frozen=True, slots=True)
class RemediationRule:
    """One rule: accounts with any of ``findings`` (and the given status/MFA) get ``actions``."""

    name: str
    reason: str
    findings: frozenset[str]
    actions: tuple[Action, ...]
    status: frozenset[str] | None = None
    mfa: bool | None = None

    def matching_finding(self, findings: Sequence[str], status: str, mfa: bool) -> str | None:
        """The first of the account's findings this rule acts on, or ``None`` (no match)."""
        if self.status is not None and status not in self.status:
            return None
        if self.mfa is not None and mfa != self.mfa:
            return None
        for finding in findings:
            if finding in self.findings:
                return finding
        return None

    def describe(self) -> dict[str, Any]:
        """The rule as recorded in a plan's ``rules`` table."""
        out: dict[str, Any] = {
            "reason": self.reason,
            "findings": sorted(self.findings),
            "actions": list(self.actions),
        }
        if self.status is not None:
            out["status"] = sorted(self.status)
        if self.mfa is not None:
            out["mfa"] = self.mfa
        return out


@dataclass(frozen=True, slots=True)
class RemediationPolicy:
    """An ordered list of rules, with where it came from and the digest of its text."""

    name: str
    digest: str
    rules: tuple[RemediationRule, ...]


def check_actions(value: Any, where: str) -> tuple[Action, ...]:
    """Validate an ``actions`` list; return it in execution order.

    Raises:
        ConfigError: on anything but a non-empty list of known action names.
    """
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: actions must be a non-empty list of action names")
    unknown = sorted(set(value) - ACTIONS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown action {', '.join(map(repr, unknown))}",
            hint=f"known actions: {', '.join(ACTION_ORDER)}",
        )
    return tuple(a for a in ACTION_ORDER if a in value)


def read_policy_toml(text: str, where: str) -> tuple[Mapping[str, Any], str]:
    """Parse a policy's TOML text and return it with the digest of the text.

    Raises:
        ConfigError: when it is not TOML, has no ``rules`` or another schema version.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    if data.get("schema_version", 1) != 1:
        raise ConfigError(f"{where}: policy schema_version {data['schema_version']!r} unsupported")
    unknown = set(data) - {"schema_version", "rules"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys: {', '.join(sorted(unknown))}")
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        raise ConfigError(f"{where}: a policy needs at least one [[rules]] table")
    return data, "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def check_rule_table(
    raw: Any, index: int, where: str, allowed: frozenset[str]
) -> tuple[Mapping[str, Any], str, str]:
    """Validate a ``[[rules]]`` table's shape, keys and name (any kind of policy).

    Returns:
        The table, its name, and the prefix that names the rule in later messages.

    Raises:
        ConfigError: not a table, an unknown key, or a missing name.
    """
    here = f"{where}: rules[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{here} must be a table")
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(
            f"{here}: unknown keys: {', '.join(sorted(unknown))}",
            hint=f"allowed: {', '.join(sorted(allowed))}",
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{here}: name must be a non-empty string")
    return raw, name, f"{where}: rule {name!r}"


def _parse_rule(table: Any, index: int, where: str) -> RemediationRule:
    raw, name, here = check_rule_table(table, index, where, _RULE_KEYS)
    findings = raw.get("findings")
    if not isinstance(findings, list) or not findings:
        raise ConfigError(f"{here}: findings must be a non-empty list")
    expanded: set[str] = set()
    for finding in findings:
        if finding == "exposed":
            expanded.update(EXPOSED_FINDINGS)
        elif finding in FINDINGS:
            expanded.add(finding)
        else:
            raise ConfigError(
                f"{here}: unknown finding {finding!r}",
                hint=f"known findings: exposed, {', '.join(sorted(FINDINGS))}",
            )
    status = raw.get("status")
    if status is not None and (
        not isinstance(status, list) or not status or not set(status) <= _STATUSES
    ):
        raise ConfigError(f"{here}: status must be a list of {', '.join(sorted(_STATUSES))}")
    mfa = raw.get("mfa")
    if mfa is not None and not isinstance(mfa, bool):
        raise ConfigError(f"{here}: mfa must be true or false")
    reason = raw.get("reason", name)
    if not isinstance(reason, str):
        raise ConfigError(f"{here}: reason must be a string")
    return RemediationRule(
        name=name,
        reason=reason,
        findings=frozenset(expanded),
        actions=check_actions(raw.get("actions"), here),
        status=frozenset(status) if status is not None else None,
        mfa=mfa,
    )


def parse_remediation_policy(text: str, name: str) -> RemediationPolicy:
    """Parse a remediation policy from TOML text.

    Raises:
        ConfigError: on invalid TOML, unknown keys, findings or actions, duplicate rule names.
    """
    data, digest = read_policy_toml(text, name)
    rules = tuple(_parse_rule(r, i, name) for i, r in enumerate(data["rules"]))
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{name}: duplicate rule names: {', '.join(duplicates)}")
    return RemediationPolicy(name=name, digest=digest, rules=rules)


def default_policy() -> RemediationPolicy:
    """The remediation policy shipped with credwatch."""
    text = resources.files("credwatch.plan").joinpath("default_policy.toml").read_text("utf-8")
    return parse_remediation_policy(text, "default")


def load_remediation_policy(path: Path | None) -> RemediationPolicy:
    """Load a remediation policy file, or the default one when ``path`` is ``None``.

    Raises:
        ConfigError: when the file cannot be read or is invalid (unknown action, ...).
    """
    if path is None:
        return default_policy()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the policy {path}: {exc}") from None
    return parse_remediation_policy(text, str(path))
