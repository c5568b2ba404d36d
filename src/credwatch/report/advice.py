""" "What to do next": recommendations derived only from the report's data.

Each rule looks at one section and, when its condition holds, says what to do, how
many accounts or sources it concerns and the command that does it.  Missing sections
become "run this to complete the report" steps; nothing is recommended from a guess.
"""

from __future__ import annotations

from credwatch.report.loaders import DONE_RESULTS
from credwatch.report.model import (
    BlastRadius,
    Exposure,
    HuntTimeline,
    Missing,
    NextStep,
    Progress,
    Report,
    SchemeCensus,
)

__all__ = ["next_steps"]

_URGENCY_ORDER = {"now": 0, "today": 1, "this week": 2, "to complete the report": 3}


def _count(pairs: tuple[tuple[str, int], ...], name: str) -> int:
    return sum(n for key, n in pairs if key == name)


def _exposure_steps(exp: Exposure, progress: Progress | Missing) -> list[NextStep]:
    steps: list[NextStep] = []
    plan = f"credwatch plan remediate --run {exp.run} -o remediation.plan.json"
    applied_resets = 0
    if isinstance(progress, Progress):
        applied_resets = sum(
            c.count
            for c in progress.counts
            if c.action == "force_reset" and c.result in DONE_RESULTS
        )
    if exp.critical_active_without_mfa:
        steps.append(
            NextStep(
                "now",
                f"Reset {exp.critical_active_without_mfa:,} active accounts whose leaked "
                "password still works and that have no MFA",
                "These accounts can be taken over with the dump alone. Force a password "
                "reset and revoke their sessions."
                + (
                    f" The journal already records {applied_resets:,} applied resets; check "
                    "they cover these accounts."
                    if applied_resets
                    else " The journal records no applied reset yet."
                ),
                f"{plan} && credwatch apply remediation.plan.json --yes",
            )
        )
    other_valid = exp.critical_total - exp.critical_active_without_mfa
    if other_valid > 0:
        steps.append(
            NextStep(
                "today",
                f"Reset the other {other_valid:,} accounts whose leaked password still works",
                "Dormant, cancelled or MFA-protected accounts with a working leaked "
                "password: reset before they are reactivated or MFA is bypassed.",
                f"{plan} && credwatch apply remediation.plan.json --yes",
            )
        )
    unverified = _count(exp.by_finding, "pair_unverified")
    if unverified:
        steps.append(
            NextStep(
                "today",
                f"Check {unverified:,} accounts whose leaked password could not be verified",
                "A leaked password exists for them but their hash scheme is unsupported or "
                "malformed, or slow verification was skipped: treat them as possibly valid "
                "until checked (force a reset, or verify with a larger executor).",
                f"credwatch audit run --store {exp.store or 'NAME'} --executor local",
            )
        )
    recovery = _count(exp.by_finding, "recovery_exposed")
    if recovery:
        steps.append(
            NextStep(
                "today",
                f"Require MFA for {recovery:,} accounts whose recovery address leaked",
                "An attacker holding the recovery mailbox can reset these accounts.",
                plan,
            )
        )
    stale = _count(exp.by_finding, "pair_stale") + _count(exp.by_finding, "email_only")
    if stale:
        steps.append(
            NextStep(
                "this week",
                f"Warn {stale:,} exposed accounts whose leaked password no longer works",
                "Their address is in the dump: expect phishing and reuse attempts. Send the "
                "per-tenant notifications.",
                "credwatch notify remediation.plan.json --out notices/ --lang ja",
            )
        )
    return steps


def _scheme_steps(census: SchemeCensus, store: str) -> list[NextStep]:
    if not census.weak_accounts:
        return []
    weak = ", ".join(r.scheme for r in census.rows if r.weak)
    return [
        NextStep(
            "this week",
            f"Move {census.weak_accounts:,} accounts off weak hash schemes ({weak})",
            "Plaintext and unsalted hashes turn the next leak into another dump. Force a "
            "reset so the new password is stored with a slow salted scheme.",
            f"credwatch plan retention --store {store} --policy retention.toml"
            " -o retention.plan.json",
        )
    ]


def _hunt_steps(hunt: HuntTimeline) -> list[NextStep]:
    steps: list[NextStep] = []
    if hunt.block_sources:
        steps.append(
            NextStep(
                "now",
                f"Block {hunt.block_sources:,} source addresses the hunt flagged as high or "
                "critical",
                "Someone is replaying credentials against the login services now. Load the "
                "blocklist into the firewall or fail2ban.",
                "credwatch hunt FILE... --blocklist block.nft --blocklist-format nft",
            )
        )
    takeovers = sum(r.keys for r in hunt.rules if "success" in r.rule)
    if takeovers:
        steps.append(
            NextStep(
                "now",
                f"Lock {takeovers:,} accounts that logged in successfully after failures",
                "A success after a run of failures is the sign of a taken-over account.",
                "credwatch hunt FILE... --json",
            )
        )
    return steps


_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "moderate": 2, "low": 3}


def _supply_steps(blast: BlastRadius) -> list[NextStep]:
    ranked = sorted(
        blast.findings,
        key=lambda f: (_SEVERITY_RANK.get(f.severity.lower(), 4), -f.accounts_total),
    )
    steps = []
    for finding in ranked[:5]:
        if finding.fixed:
            title = f"Upgrade {finding.component} {finding.version} to {finding.fixed}"
        else:
            title = f"Mitigate {finding.component} {finding.version} (no fixed version yet)"
        urgent = finding.severity.lower() in {"critical", "high"}
        steps.append(
            NextStep(
                "today" if urgent else "this week",
                title,
                f"{', '.join(finding.advisories[:3]) or 'advisories'} ({finding.severity}); "
                f"{finding.accounts_total:,} accounts on {len(finding.tenants)} tenants depend "
                f"on it through {', '.join(finding.platforms) or 'its hosts'}. Re-scan after "
                "the change.",
                "credwatch supply scan --sbom FILE --advisories DIR --platforms MAP",
            )
        )
    return steps


def next_steps(report: Report) -> tuple[NextStep, ...]:
    """Derive the recommendations for ``report`` (its ``next_steps`` are ignored).

    Example:
        >>> next_steps(report)[0].urgency          # doctest: +SKIP
        'now'
    """
    steps: list[NextStep] = []
    if isinstance(report.exposure, Exposure):
        steps += _exposure_steps(report.exposure, report.progress)
    if isinstance(report.schemes, SchemeCensus):
        store = report.exposure.store if isinstance(report.exposure, Exposure) else ""
        steps += _scheme_steps(report.schemes, store or "NAME")
    if isinstance(report.hunt, HuntTimeline):
        steps += _hunt_steps(report.hunt)
    if isinstance(report.blast, BlastRadius):
        steps += _supply_steps(report.blast)
    seen: set[tuple[str, str]] = set()
    for _section, missing in report.missing:
        if (missing.inputs, missing.command) in seen:
            continue  # exposure and schemes share one input
        seen.add((missing.inputs, missing.command))
        action = "Fix" if missing.unreadable else "Produce"
        steps.append(
            NextStep(
                "to complete the report",
                f"{action} {missing.inputs}",
                missing.detail or "This section of the report is empty until it exists.",
                missing.command,
            )
        )
    return tuple(sorted(steps, key=lambda s: _URGENCY_ORDER[s.urgency]))
