""" "What to do next": recommendations derived only from the report's data.

Each rule looks at one section and, when its condition holds, says what to do, how
many accounts or sources it concerns and the command that does it.  Missing sections
become "run this to complete the report" steps; nothing is recommended from a guess.
"""

from __future__ import annotations

import shlex

from credwatch.report.model import (
    BlastRadius,
    Coverage,
    Exposure,
    HuntTimeline,
    Missing,
    NextStep,
    Progress,
    Report,
    SchemeCensus,
    Urgency,
)

__all__ = ["next_steps"]

_URGENCY_ORDER = {"now": 0, "today": 1, "this week": 2, "to complete the report": 3}


def _count(pairs: tuple[tuple[str, int], ...], name: str) -> int:
    return sum(n for key, n in pairs if key == name)


def _critical_steps(exp: Exposure, coverage: Coverage | None) -> list[NextStep]:
    """Reset the accounts a leaked password still opens, minus those the journal shows."""
    apply = (
        f"credwatch plan remediate --run {exp.run} -o remediation.plan.json"
        " && credwatch apply remediation.plan.json --yes"
    )
    active_done = coverage.active_without_mfa_reset if coverage else 0
    other_done = (coverage.pair_valid_reset - active_done) if coverage else 0
    groups: tuple[tuple[Urgency, int, int, str, str], ...] = (
        (
            "now",
            exp.critical_active_without_mfa,
            active_done,
            "active accounts whose leaked password still works and that have no MFA",
            "These accounts can be taken over with the dump alone. Force a password reset "
            "and revoke their sessions.",
        ),
        (
            "today",
            exp.critical_total - exp.critical_active_without_mfa,
            other_done,
            "dormant, cancelled or MFA-protected accounts whose leaked password still works",
            "Reset them before they are reactivated or MFA is bypassed.",
        ),
    )
    steps: list[NextStep] = []
    confirmed = 0
    for urgency, total, done, who, why in groups:
        remaining = total - done
        if remaining > 0:
            journal = (
                f" The journal records forced resets for {done:,} of the {total:,}."
                if coverage is not None
                else " No journal yet: nothing has been applied."
            )
            steps.append(
                NextStep(
                    urgency,
                    f"Reset {remaining:,} {who}",
                    why + journal,
                    apply,
                )
            )
        confirmed += min(done, total)
    if confirmed:
        steps.append(
            NextStep(
                "this week",
                f"Confirm the {confirmed:,} forced resets took effect",
                "The journal records a forced reset for these accounts whose leaked password "
                "still worked at the audit. Once users have chosen new passwords, audit again: "
                "no account should remain pair_valid.",
                f"credwatch audit run --store {exp.store or 'NAME'}",
            )
        )
    return steps


def _exposure_steps(exp: Exposure, progress: Progress | Missing) -> list[NextStep]:
    coverage = progress.coverage if isinstance(progress, Progress) else None
    steps = _critical_steps(exp, coverage)
    plan = f"credwatch plan remediate --run {exp.run} -o remediation.plan.json"
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
    recovery_left = recovery - (coverage.recovery_exposed_mfa if coverage else 0)
    if recovery_left > 0:
        steps.append(
            NextStep(
                "today",
                f"Require MFA for {recovery_left:,} accounts whose recovery address leaked",
                "An attacker holding the recovery mailbox can reset these accounts."
                + (
                    f" The journal records MFA required for {recovery - recovery_left:,}."
                    if coverage
                    else ""
                ),
                f"{plan} && credwatch apply remediation.plan.json --yes",
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


def _scheme_steps(census: SchemeCensus, store: str, coverage: Coverage | None) -> list[NextStep]:
    done = coverage.weak_scheme_reset if coverage else 0
    left = census.weak_accounts - done
    if left <= 0:
        return []
    weak = ", ".join(r.scheme for r in census.rows if r.weak)
    return [
        NextStep(
            "this week",
            f"Move {left:,} accounts off weak hash schemes ({weak})",
            "Plaintext and unsalted hashes turn the next leak into another dump. Force a "
            "reset so the new password is stored with a slow salted scheme."
            + (f" The journal records forced resets for {done:,} others." if done else ""),
            f"credwatch plan retention --store {store} --policy retention.toml"
            " -o retention.plan.json",
        )
    ]


def _hunt_steps(hunt: HuntTimeline) -> list[NextStep]:
    steps: list[NextStep] = []
    logs = " ".join(shlex.quote(p) for p in hunt.paths[:3]) or "FILE..."
    if len(hunt.paths) > 3:
        logs += " ..."
    if hunt.block_sources:
        steps.append(
            NextStep(
                "now",
                f"Block {hunt.block_sources:,} source addresses the hunt flagged as high or "
                "critical",
                "Someone is replaying credentials against the login services now. Load the "
                "blocklist into the firewall or fail2ban.",
                f"credwatch hunt {logs} --blocklist block.nft --blocklist-format nft",
            )
        )
    takeovers = sum(r.keys for r in hunt.rules if "success" in r.rule)
    if takeovers:
        steps.append(
            NextStep(
                "now",
                f"Review and lock {takeovers:,} accounts that logged in successfully after "
                "failures",
                "A success after a run of failures is the sign of a taken-over account; the "
                "success_after_failures alerts name them (masked) with the source addresses.",
                f"credwatch hunt {logs} --alerts alerts.jsonl",
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
        coverage = report.progress.coverage if isinstance(report.progress, Progress) else None
        steps += _scheme_steps(report.schemes, store or "NAME", coverage)
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
