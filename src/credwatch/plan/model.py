"""The plan file: a reviewed, digest-sealed list of actions per account.

A plan is one JSON document (schema version :data:`PLAN_SCHEMA_VERSION`)::

    {
      "schema_version": "1.0",
      "kind": "remediation" | "retention",
      "created_at": "2026-06-20T09:00:00+00:00",
      "store": {"name": "mail", "kind": "sql", "identity": "<sha256>"},
      "inputs": {"audit_run": "RUN" | null, "audit_summary_digest": "<sha256>" | null,
                 "store_digest": "<digest>", "policy": "default", "policy_digest": "<sha256>"},
      "id_form": "plain" | "keyed",
      "rules": {"leaked-password-works": {"reason": "...", "findings": [...], ...}},
      "accounts": [
        {"id": "42", "tenant": "nifty", "status": "active",
         "findings": ["pair_valid", "recovery_exposed"],
         "actions": [{"action": "require_mfa", "rule": "recovery-on-affected-domain",
                      "finding": "recovery_exposed"}, ...]}
      ],
      "digest": "sha256:<hex>"
    }

It holds no secret and no address: accounts are named by their store id, or -- when
the store's ids are addresses (Dovecot passwd-files) -- by a keyed hash of the id
under the workspace pepper (``id_form = "keyed"``).  ``digest`` covers everything
else in canonical form, so a plan edited by hand is refused by :func:`load_plan`.

Example:
    >>> plan = load_plan(Path("fix.plan.json"))             # doctest: +SKIP
    >>> plan.action_counts()                                # doctest: +SKIP
    {'force_reset': 120, 'revoke_sessions': 80}
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import orjson

from credwatch.errors import InputError
from credwatch.keys import Keyer

__all__ = [
    "ACTIONS",
    "ACTION_ORDER",
    "PLAN_SCHEMA_VERSION",
    "AccountPlan",
    "Action",
    "IdForm",
    "Plan",
    "PlanInputs",
    "PlanKind",
    "PlannedAction",
    "StoreRef",
    "canonical_json",
    "gc_paused",
    "keyed_id",
    "load_plan",
    "write_plan",
]

PLAN_SCHEMA_VERSION = "1.0"

Action = Literal[
    "require_mfa", "lock", "revoke_sessions", "force_reset", "isolate", "purge_credential"
]
PlanKind = Literal["remediation", "retention"]
IdForm = Literal["plain", "keyed"]

#: Every action credwatch knows, in the order they are carried out for one account:
#: MFA first (a reset mail to a recovery address on a breached domain would hand the
#: account to the attacker), then lock and session revocation, then the reset, and the
#: credential is isolated before it is purged.
ACTION_ORDER: tuple[Action, ...] = (
    "require_mfa",
    "lock",
    "revoke_sessions",
    "force_reset",
    "isolate",
    "purge_credential",
)
ACTIONS = frozenset(ACTION_ORDER)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic objects.

    Plans and journals make one small object per account; the collector would rescan
    them again and again (it triples the load time of a large plan).  Reference
    counting still frees everything; the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def canonical_json(document: Any) -> bytes:
    """The canonical bytes of a JSON document (orjson: sorted keys, no spaces, UTF-8)."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def keyed_id(keyer: Keyer, account_id: str) -> str:
    """The keyed form of an account id that is itself an address (passwd-file users).

    Example:
        >>> keyed_id(Keyer(bytes(32)), "taro@nifty.com")[:4]
        'k1:e'
    """
    digest = hashlib.sha256((keyer.pepper.hex() + "|id|" + account_id).encode("utf-8"))
    return "k1:" + digest.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One action for one account, with the rule that asked for it and the finding behind it.

    ``finding`` is ``None`` for retention rules, which act on age or hash scheme rather
    than on an audit finding; ``basis`` then says what (``"cancelled 120 days"``).
    """

    action: Action
    rule: str
    finding: str | None = None
    basis: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form (keys with ``None`` values left out)."""
        out: dict[str, Any] = {"action": self.action, "rule": self.rule}
        if self.finding is not None:
            out["finding"] = self.finding
        if self.basis is not None:
            out["basis"] = self.basis
        return out


@dataclass(frozen=True, slots=True)
class AccountPlan:
    """Everything a plan does to one account."""

    id: str
    tenant: str
    status: str
    findings: tuple[str, ...]
    actions: tuple[PlannedAction, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "status": self.status,
            "findings": list(self.findings),
            "actions": [a.to_json() for a in self.actions],
        }


@dataclass(frozen=True, slots=True)
class StoreRef:
    """Which store a plan is for: its name, kind and an identity of where it lives.

    ``identity`` is a digest of the connector kind and location (URL without password,
    table, or file path), so a plan made for one database is refused on another even
    when the store keeps its name.
    """

    name: str
    kind: str
    identity: str


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Digests of what the plan was computed from (``apply`` refuses if they changed)."""

    store_digest: str
    policy: str
    policy_digest: str
    audit_run: str | None = None
    audit_summary_digest: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A digest-sealed plan (see the module docstring for the file format)."""

    kind: PlanKind
    created_at: str
    store: StoreRef
    inputs: PlanInputs
    id_form: IdForm
    rules: Mapping[str, Mapping[str, Any]]
    accounts: tuple[AccountPlan, ...]
    digest: str = ""

    def header(self) -> dict[str, Any]:
        """The JSON document without ``digest`` and ``accounts``."""
        return {
            "schema_version": PLAN_SCHEMA_VERSION,
            "kind": self.kind,
            "created_at": self.created_at,
            "store": {
                "name": self.store.name,
                "kind": self.store.kind,
                "identity": self.store.identity,
            },
            "inputs": {
                "audit_run": self.inputs.audit_run,
                "audit_summary_digest": self.inputs.audit_summary_digest,
                "store_digest": self.inputs.store_digest,
                "policy": self.inputs.policy,
                "policy_digest": self.inputs.policy_digest,
            },
            "id_form": self.id_form,
            "rules": {k: dict(v) for k, v in self.rules.items()},
        }

    def body(self) -> dict[str, Any]:
        """The JSON document without ``digest``."""
        return {**self.header(), "accounts": [a.to_json() for a in self.accounts]}

    def sealed(self, body: dict[str, Any] | None = None) -> Plan:
        """This plan with its ``digest`` computed (over ``body`` when already built).

        Without ``body`` the digest is computed account by account, never holding the
        whole JSON document (a full-size plan has millions of accounts).
        """
        if body is not None:
            digest = "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()
        else:
            sha = _DigestStream()
            with gc_paused():
                for account in self.accounts:
                    sha.account(account.to_json())
            digest = sha.finish(self.header())
        return Plan(
            kind=self.kind,
            created_at=self.created_at,
            store=self.store,
            inputs=self.inputs,
            id_form=self.id_form,
            rules=self.rules,
            accounts=self.accounts,
            digest=digest,
        )

    def action_count(self) -> int:
        """The number of (account, action) pairs."""
        return sum(len(a.actions) for a in self.accounts)

    def action_counts(self) -> dict[str, int]:
        """How many accounts get each action, in :data:`ACTION_ORDER`."""
        counts = Counter(p.action for a in self.accounts for p in a.actions)
        return {action: counts[action] for action in ACTION_ORDER if counts[action]}

    def actions_used(self) -> tuple[Action, ...]:
        """The distinct actions of this plan, in :data:`ACTION_ORDER`."""
        return tuple(self.action_counts())  # type: ignore[arg-type]


def write_plan(plan: Plan, path: Path) -> Plan:
    """Seal ``plan`` and write it atomically to ``path`` (mode 0600); return the sealed plan.

    Raises:
        InputError: when the file cannot be written.
    """
    sealed = plan.sealed()
    document = plan.header()
    document["digest"] = sealed.digest
    # Readable and fast: the header indented, then one account per line (the C encoder
    # does each line; a fully indented dump of a million accounts takes minutes).
    header = json.dumps(document, ensure_ascii=False, indent=1)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    accounts = plan.accounts
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh, gc_paused():
            fh.write(header[:-2] + ',\n "accounts": [\n')
            for start in range(0, len(accounts), 10_000):
                part = accounts[start : start + 10_000]
                end = ",\n" if start + 10_000 < len(accounts) else "\n"
                fh.write(",\n".join("  " + orjson.dumps(a.to_json()).decode() for a in part) + end)
            fh.write(" ]\n}\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the plan {path}: {exc.strerror}") from None
    return sealed


def load_plan(path: Path) -> Plan:
    """Read a plan and check its schema version and digest.

    Raises:
        InputError: when the file is missing, not JSON, of another schema major, malformed,
            or its digest does not match its content (edited after it was written).
    """
    with gc_paused():
        return _load_plan(path)


class _DigestStream:
    """The plan digest (SHA-256 of the canonical document) fed one account at a time.

    In canonical form (sorted keys) ``accounts`` comes first, so the document's bytes
    are ``{"accounts":[`` + the accounts joined by commas + ``],`` + the rest.
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256(b'{"accounts":[')
        self._first = True

    def account(self, entry: Any) -> None:
        if not self._first:
            self._sha.update(b",")
        self._sha.update(canonical_json(entry))
        self._first = False

    def finish(self, header: Mapping[str, Any]) -> str:
        if any(key <= "accounts" for key in header):
            raise ValueError("plan header keys must sort after 'accounts'")
        rest = canonical_json(header)
        self._sha.update(b"]" + (b"," + rest[1:] if header else b"}"))
        return "sha256:" + self._sha.hexdigest()


_ACCOUNTS_LINE = b' "accounts": [\n'


def _load_streaming(path: Path) -> Plan | None:
    """Read a plan in :func:`write_plan`'s layout one account line at a time.

    Memory holds the parsed accounts, never the whole JSON document.  Returns ``None``
    when the file is not in that layout (the caller then reads it whole).
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the plan {path}: {exc.strerror}") from None
    with fh:
        head: list[bytes] = []
        for line in fh:
            if line == _ACCOUNTS_LINE:
                break
            head.append(line)
        else:
            return None
        text = b"".join(head).rstrip()
        if not text.endswith(b","):
            return None
        try:
            document = orjson.loads(text[:-1] + b"\n}")
        except orjson.JSONDecodeError:
            return None
        if not isinstance(document, dict) or "accounts" in document:
            return None
        _check_version(path, document)
        claimed = document.pop("digest", None)
        sha = _DigestStream()
        reader = _AccountReader()
        accounts: list[AccountPlan] = []
        closed = False
        for line in fh:
            if line == b" ]\n":
                closed = True
                break
            try:
                entry = orjson.loads(line.rstrip(b",\n"))
                sha.account(entry)
                accounts.append(reader.account(entry))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                return None
        if not closed or fh.read().strip() != b"}":
            return None
    try:
        actual = sha.finish(document)
    except (TypeError, ValueError):
        return None
    _check_digest(path, claimed, actual)
    try:
        plan = _from_json({**document, "accounts": []})
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed plan ({exc})") from None
    return replace(plan, accounts=tuple(accounts), digest=actual)


def _check_version(path: Path, document: Mapping[str, Any]) -> None:
    version = str(document.get("schema_version", ""))
    if version.partition(".")[0] != PLAN_SCHEMA_VERSION.partition(".")[0]:
        raise InputError(
            f"{path}: plan schema version {version or 'missing'} is not supported",
            hint=f"this credwatch reads plan schema {PLAN_SCHEMA_VERSION}; re-run `credwatch plan`",
        )


def _check_digest(path: Path, claimed: object, actual: str) -> None:
    if claimed != actual:
        raise InputError(
            f"{path}: the plan's digest does not match its content; it was edited after "
            "`credwatch plan` wrote it",
            hint="plans cannot be edited by hand: change the policy and run `credwatch plan` again",
        )


def _load_plan(path: Path) -> Plan:
    streamed = _load_streaming(path)
    if streamed is not None:
        return streamed
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the plan {path}: {exc.strerror}") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not a JSON plan (line {exc.lineno})") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: not a plan (expected a JSON object)")
    _check_version(path, document)
    claimed = document.pop("digest", None)
    actual = "sha256:" + hashlib.sha256(canonical_json(document)).hexdigest()
    _check_digest(path, claimed, actual)
    try:
        plan = _from_json(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed plan ({exc})") from None
    return replace(plan, digest=actual)


def _from_json(doc: Mapping[str, Any]) -> Plan:
    kind = doc["kind"]
    if kind not in ("remediation", "retention"):
        raise ValueError(f"unknown plan kind {kind!r}")
    id_form = doc["id_form"]
    if id_form not in ("plain", "keyed"):
        raise ValueError(f"unknown id_form {id_form!r}")
    store = doc["store"]
    inputs = doc["inputs"]
    reader = _AccountReader()
    accounts = [reader.account(entry) for entry in doc["accounts"]]
    return Plan(
        kind=kind,
        created_at=str(doc["created_at"]),
        store=StoreRef(
            name=str(store["name"]), kind=str(store["kind"]), identity=str(store["identity"])
        ),
        inputs=PlanInputs(
            store_digest=str(inputs["store_digest"]),
            policy=str(inputs["policy"]),
            policy_digest=str(inputs["policy_digest"]),
            audit_run=inputs.get("audit_run"),
            audit_summary_digest=inputs.get("audit_summary_digest"),
        ),
        id_form=id_form,
        rules={str(k): dict(v) for k, v in doc["rules"].items()},
        accounts=tuple(accounts),
    )


class _AccountReader:
    """Builds :class:`AccountPlan` objects from JSON entries, sharing repeated values.

    The content is sealed by its digest, so only its shape needs checking here; a
    million accounts must load in seconds, so the loop stays lean.  Tenants, statuses,
    findings and actions repeat across millions of accounts: one object each.
    """

    def __init__(self) -> None:
        self._actions: dict[tuple[Any, ...], PlannedAction] = {}
        self._strings: dict[str, str] = {}
        self._findings: dict[tuple[str, ...], tuple[str, ...]] = {}

    def _shared(self, value: Any) -> str:
        text = _string(value)
        return self._strings.setdefault(text, text)

    def account(self, entry: Mapping[str, Any]) -> AccountPlan:
        actions: list[PlannedAction] = []
        for item in entry["actions"]:
            key = (item["action"], item["rule"], item.get("finding"), item.get("basis"))
            planned = self._actions.get(key)
            if planned is None:
                action, rule, finding, basis = key
                if action not in ACTIONS or not isinstance(rule, str):
                    raise ValueError(f"unknown action {action!r}")
                planned = self._actions[key] = PlannedAction(
                    action=action,
                    rule=rule,
                    finding=None if finding is None else str(finding),
                    basis=None if basis is None else str(basis),
                )
            actions.append(planned)
        findings = tuple(entry["findings"])
        return AccountPlan(
            id=_string(entry["id"]),
            tenant=self._shared(entry["tenant"]),
            status=self._shared(entry["status"]),
            findings=self._findings.setdefault(findings, findings),
            actions=tuple(actions),
        )


def _string(value: Any) -> str:
    if type(value) is not str:
        raise TypeError("expected a string")
    return value
