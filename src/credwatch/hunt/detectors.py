"""Per-key sliding-window detectors, each runnable in batch (DuckDB) and online.

Definitions (the same for both paths; ``W`` is the rule's window):

* ``failures_per_ip``: failed attempts (weighted by Dovecot's "N attempts") from one
  address within ``W`` reach ``threshold``.
* ``failures_per_subnet``: failed attempts from one /24 (IPv4) or /64 (IPv6) within
  ``W`` reach ``threshold`` while coming from at least ``min_ips`` addresses.
* ``users_per_ip``: distinct user names failing from one address within ``W``.
* ``ips_per_user``: distinct addresses failing for one user within ``W``.
* ``success_after_failures``: a success for a user when that user had ``threshold``
  failed attempts within the preceding ``W`` (the account is likely taken over).
* ``spraying``: one address tries ``min_users`` distinct users or more within ``W``
  with at most ``max_per_user`` attempts per user on average (few passwords, many users).

The window of an event at time ``t`` is ``[t - W, t]``.  Counts are of attempts: a
Dovecot passdb line (``auth``) and the login line of the same failure count once.
Batch alerts are one per key over the whole input (``first_seen``/``last_seen`` span
the key's counted events, ``evidence.fired_at`` is when the threshold was first
reached); online alerts are raised when the threshold is reached and then muted for ``W`` per key.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from credwatch.hunt.config import SprayParams, SuccessAfterParams, WindowParams
from credwatch.hunt.interface import Alert, AuthEvent, KeyType, Severity, StateStore
from credwatch.normalize import mask_email

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "FailuresPerIp",
    "FailuresPerSubnet",
    "IpsPerUser",
    "Spraying",
    "SuccessAfterFailures",
    "UserTokenizer",
    "UsersPerIp",
    "epoch",
    "mask_user",
    "weight",
]

SAMPLE = 5

#: Dovecot logs a failed login twice with ``auth_verbose``: the passdb line (with the
#: reason) and the login process's line (with the protocol and attempt count, always
#: logged).  Counting rules weigh the passdb line 0 so an attempt counts once; it still
#: counts for distinct users/addresses and for the unknown-user share.
_WEIGHT_SQL = "CASE WHEN service = 'dovecot' AND protocol = 'auth' THEN 0 ELSE attempts END"


def weight(event: AuthEvent) -> int:
    """How many attempts ``event`` counts for in counting rules (see ``_WEIGHT_SQL``)."""
    if event.service == "dovecot" and event.protocol == "auth":
        return 0
    return event.attempts


def epoch(ts: datetime) -> float:
    """Epoch seconds of a naive-UTC (or aware) timestamp."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def from_epoch(value: float) -> datetime:
    """Naive-UTC timestamp of epoch seconds."""
    return datetime.fromtimestamp(value, tz=UTC).replace(tzinfo=None)


def mask_user(user: str | None) -> str:
    """Mask a user name for alerts: addresses as ``t***@nifty.com``, others as ``***``."""
    return mask_email(user) if user else "***"


@dataclass(frozen=True, slots=True)
class UserTokenizer:
    """Turns user names into keyed tokens before they enter shared state (Redis).

    Online state never holds a plaintext user name.  ``secret`` should come from the
    workspace (``credwatch serve`` derives it from the pepper) so every worker agrees.
    """

    secret: bytes

    def __call__(self, user: str) -> str:
        """The token of ``user``."""
        return hashlib.blake2b(
            user.encode("utf-8", "surrogatepass"), key=self.secret[:64], digest_size=12
        ).hexdigest()


def _sample(users: list[str] | None) -> list[str]:
    return sorted({mask_user(u) for u in users or [] if u})[:SAMPLE]


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    key_type: KeyType
    key_col: str
    member_col: str | None
    severity: Severity


class _KeyedWindow:
    """Shared machinery: count or distinct-count failures per key in a sliding window."""

    _needs_ips = False
    spec: _Spec
    window: int
    threshold: int

    def __init__(self, tokenizer: UserTokenizer | None = None) -> None:
        self._tok = tokenizer or UserTokenizer(b"credwatch-hunt-memory-only")

    @property
    def name(self) -> str:
        """The rule name."""
        return self.spec.name

    # -- batch ---------------------------------------------------------------------
    def _fired_sql(self) -> str:
        if self.spec.member_col is None:
            return f"wcount >= {int(self.threshold)}"
        return f"wdistinct >= {int(self.threshold)}"

    def _possible_sql(self) -> str:
        """Over a key's whole input: a necessary condition for firing in some window."""
        if self.spec.member_col is None:
            return f"sum(attempts) >= {int(self.threshold)}"
        return f"count(DISTINCT mem) >= {int(self.threshold)}"

    def _metric_sql(self) -> str:
        return "wcount" if self.spec.member_col is None else "wdistinct"

    def detect_batch(self, con: duckdb.DuckDBPyConnection, events: str) -> list[Alert]:
        """Run the rule over the events table ``events``."""
        key = self.spec.key_col
        member = self.spec.member_col or "NULL"
        # Distinct counts over sliding frames are the costly part: only where the rule uses them.
        distinct = "count(DISTINCT mem) OVER win" if self.spec.member_col else "0"
        ips = "count(DISTINCT src_ip) OVER win" if self._needs_ips else "0"
        # Keys whose whole input cannot reach the threshold never fire in any window:
        # dropping them first leaves the costly sliding frames a few partitions.
        sql = f"""
            WITH e0 AS (
                SELECT ts, {key} AS k, {member} AS mem, "user", src_ip, {_WEIGHT_SQL} AS attempts
                FROM {events}
                WHERE outcome = 'failure' AND {key} IS NOT NULL
            ),
            keep AS (SELECT k FROM e0 GROUP BY k HAVING {self._possible_sql()}),
            e AS (SELECT * FROM e0 SEMI JOIN keep USING (k)),
            w AS (
                SELECT *, sum(attempts) OVER win AS wcount,
                       {distinct} AS wdistinct,
                       {ips} AS wips
                FROM e
                WINDOW win AS (PARTITION BY k ORDER BY ts
                               RANGE BETWEEN INTERVAL {int(self.window)} SECOND PRECEDING AND
                                   CURRENT ROW)
            ),
            f AS (SELECT *, ({self._fired_sql()}) AS fired, {self._metric_sql()} AS metric FROM w)
            SELECT k, min(ts) FILTER (WHERE fired) AS fired_at, max(metric) AS peak,
                   min(ts) AS first_seen, max(ts) AS last_seen, sum(attempts) AS n,
                   count(DISTINCT "user") AS users, count(DISTINCT src_ip) AS ips,
                   (list(DISTINCT "user") FILTER (WHERE "user" IS NOT NULL))[1:{SAMPLE * 4}] AS
                       sample
            FROM f GROUP BY k HAVING bool_or(fired) ORDER BY k
        """
        alerts = []
        for k, fired_at, peak, first, last, n, users, ips, sample in con.sql(sql).fetchall():
            alerts.append(
                self._alert(
                    key=k,
                    first=first,
                    last=last,
                    count=int(n),
                    evidence={
                        "failures": int(n),
                        "distinct_users": int(users),
                        "distinct_ips": int(ips),
                        "peak_in_window": int(peak),
                        "fired_at": fired_at.isoformat(),
                        "span_seconds": int((last - first).total_seconds()),
                        "sample_users": _sample(sample),
                    },
                )
            )
        return alerts

    def _alert(
        self, *, key: str, first: datetime, last: datetime, count: int, evidence: dict[str, Any]
    ) -> Alert:
        shown = mask_user(key) if self.spec.key_type == "user" else key
        return Alert(
            rule=self.name,
            key_type=self.spec.key_type,
            key=shown,
            severity=self.spec.severity,
            first_seen=first,
            last_seen=last,
            count=count,
            evidence={
                **evidence,
                "window_seconds": int(self.window),
                "threshold": self._threshold_json(),
            },
        )

    def _threshold_json(self) -> Any:
        return int(self.threshold)

    # -- online --------------------------------------------------------------------
    def _key_of(self, event: AuthEvent) -> str | None:
        if self.spec.key_col == "src_ip":
            return event.src_ip
        if self.spec.key_col == "subnet":
            return subnet_of(event.src_ip)
        return event.user

    def _member_of(self, event: AuthEvent) -> str:
        if self.spec.member_col == "user":
            return self._tok(event.user) if event.user else ""
        if self.spec.member_col == "src_ip":
            return event.src_ip or ""
        return ""

    def _fired_online(self, state: StateStore, skey: str) -> tuple[bool, int]:
        if self.spec.member_col is None:
            metric = state.window_count(skey)
        else:
            metric = state.window_distinct(skey)
        return metric >= self.threshold, metric

    def observe(self, event: AuthEvent, exposed: bool | None, state: StateStore) -> list[Alert]:
        """Feed one event; return an alert when the key crosses the threshold."""
        del exposed
        if event.outcome != "failure":
            return []
        key = self._key_of(event)
        if not key:
            return []
        skey_raw = self._tok(key) if self.spec.key_type == "user" else key
        skey = f"{self.name}|{skey_raw}"
        now = epoch(event.ts)
        member = self._member_of(event)
        if self.spec.member_col is not None and not member:
            return []
        state.window_add(skey, now, member, weight(event), float(self.window))
        fired, metric = self._fired_online(state, skey)
        if not fired or not state.flag_set(f"{self.name}!{skey_raw}", float(self.window), now):
            return []
        span = state.window_span(skey) or (now, now)
        first = from_epoch(span[0])
        return [
            self._alert(
                key=key,
                first=first,
                last=event.ts,
                count=state.window_count(skey),
                evidence={
                    "failures": state.window_count(skey),
                    "peak_in_window": metric,
                    "fired_at": event.ts.isoformat(),
                    "span_seconds": int(now - span[0]),
                    "sample_users": _sample([event.user] if event.user else []),
                },
            )
        ]

    def flush(self, state: StateStore) -> list[Alert]:
        """Nothing is pending at the end of input for window rules."""
        del state
        return []


def subnet_of(ip: str | None) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) of an address, as the batch path computes it."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


class FailuresPerIp(_KeyedWindow):
    """Failed attempts per address within a window (classic brute force)."""

    def __init__(self, params: WindowParams, tokenizer: UserTokenizer | None = None) -> None:
        super().__init__(tokenizer)
        self.spec = _Spec("failures_per_ip", "ip", "src_ip", None, "high")
        self.window, self.threshold = params.window, params.threshold


class FailuresPerSubnet(_KeyedWindow):
    """Failed attempts per /24 or /64 from several addresses within a window."""

    _needs_ips = True

    def __init__(self, params: WindowParams, tokenizer: UserTokenizer | None = None) -> None:
        super().__init__(tokenizer)
        self.spec = _Spec("failures_per_subnet", "subnet", "subnet", None, "medium")
        self.window, self.threshold, self.min_ips = params.window, params.threshold, params.min_ips

    def _fired_sql(self) -> str:
        return f"wcount >= {int(self.threshold)} AND wips >= {int(self.min_ips)}"

    def _possible_sql(self) -> str:
        return (
            f"sum(attempts) >= {int(self.threshold)} AND count(DISTINCT src_ip) >= "
            f"{int(self.min_ips)}"
        )

    def _member_of(self, event: AuthEvent) -> str:
        return event.src_ip or ""

    def _fired_online(self, state: StateStore, skey: str) -> tuple[bool, int]:
        count = state.window_count(skey)
        return count >= self.threshold and state.window_distinct(skey) >= self.min_ips, count

    def _threshold_json(self) -> Any:
        return {"failures": int(self.threshold), "min_ips": int(self.min_ips)}


class UsersPerIp(_KeyedWindow):
    """Distinct users failing from one address within a window."""

    def __init__(self, params: WindowParams, tokenizer: UserTokenizer | None = None) -> None:
        super().__init__(tokenizer)
        self.spec = _Spec("users_per_ip", "ip", "src_ip", "user", "high")
        self.window, self.threshold = params.window, params.threshold


class IpsPerUser(_KeyedWindow):
    """Distinct addresses failing for one user within a window (distributed guessing)."""

    def __init__(self, params: WindowParams, tokenizer: UserTokenizer | None = None) -> None:
        super().__init__(tokenizer)
        self.spec = _Spec("ips_per_user", "user", '"user"', "src_ip", "medium")
        self.window, self.threshold = params.window, params.threshold


class Spraying(_KeyedWindow):
    """Password spraying: many users, few attempts each, from one address."""

    def __init__(self, params: SprayParams, tokenizer: UserTokenizer | None = None) -> None:
        super().__init__(tokenizer)
        self.spec = _Spec("spraying", "ip", "src_ip", "user", "high")
        self.window, self.threshold = params.window, params.min_users
        self.max_per_user = params.max_per_user

    def _fired_sql(self) -> str:
        return (
            f"wdistinct >= {int(self.threshold)} AND wcount <= {float(self.max_per_user)} * "
            f"wdistinct"
        )

    def _fired_online(self, state: StateStore, skey: str) -> tuple[bool, int]:
        distinct = state.window_distinct(skey)
        count = state.window_count(skey)
        return distinct >= self.threshold and count <= self.max_per_user * distinct, distinct

    def _threshold_json(self) -> Any:
        return {"min_users": int(self.threshold), "max_per_user": float(self.max_per_user)}


class SuccessAfterFailures:
    """A success for a user after many recent failures for that user."""

    name = "success_after_failures"

    def __init__(self, params: SuccessAfterParams, tokenizer: UserTokenizer | None = None) -> None:
        self.window, self.threshold = params.window, params.threshold
        self._tok = tokenizer or UserTokenizer(b"credwatch-hunt-memory-only")

    def detect_batch(self, con: duckdb.DuckDBPyConnection, events: str) -> list[Alert]:
        """Run the rule over the events table ``events``."""
        # Only users with a success and enough failures in the whole input can fire:
        # the sliding frame then runs over their events alone.
        sql = f"""
            WITH cand AS (
                SELECT "user" FROM {events} WHERE "user" IS NOT NULL GROUP BY "user"
                HAVING bool_or(outcome = 'success') AND coalesce(sum({_WEIGHT_SQL}) FILTER
                    (WHERE outcome = 'failure'), 0) >= {int(self.threshold)}
            ),
            w AS (
                SELECT ts, "user", src_ip, outcome, {_WEIGHT_SQL} AS attempts,
                       coalesce(sum(CASE WHEN outcome = 'failure'
                                         THEN {_WEIGHT_SQL} ELSE 0 END) OVER (
                           PARTITION BY "user" ORDER BY ts
                           RANGE BETWEEN INTERVAL {int(self.window)} SECOND PRECEDING AND
                               CURRENT ROW), 0)
                       AS fails
                FROM {events} SEMI JOIN cand USING ("user")
            ),
            hit AS (SELECT * FROM w WHERE outcome = 'success' AND fails >= {int(self.threshold)}),
            -- Did the address that got in fail for the user in the window? (hits are few)
            marked AS (
                SELECT hit.*, EXISTS (
                    SELECT 1 FROM {events} f
                    WHERE f.outcome = 'failure' AND f."user" = hit."user"
                      AND f.src_ip = hit.src_ip
                      AND f.ts BETWEEN hit.ts - INTERVAL {int(self.window)} SECOND AND hit.ts
                ) AS same
                FROM hit
            )
            SELECT "user", min(ts), max(ts), max(fails), count(*),
                   list(DISTINCT src_ip)[1:{SAMPLE}], bool_or(same)
            FROM marked GROUP BY "user" ORDER BY "user"
        """
        out = []
        for user, first, last, fails, successes, ips, same in con.sql(sql).fetchall():
            out.append(
                self._alert(
                    user, first, last, int(fails), int(successes), [i for i in ips if i], same
                )
            )
        return out

    def _alert(
        self,
        user: str,
        first: datetime,
        last: datetime,
        fails: int,
        successes: int,
        ips: list[str],
        from_failing_address: bool,
    ) -> Alert:
        """Critical when the success came from an address that failed for the user (the
        guesser got in); high when it came from elsewhere (perhaps the owner after an
        attack on the account)."""
        return Alert(
            rule=self.name,
            key_type="user",
            key=mask_user(user),
            severity="critical" if from_failing_address else "high",
            first_seen=first,
            last_seen=last,
            count=fails,
            evidence={
                "failures_before_success": fails,
                "successes": successes,
                "success_ips": ips,
                "success_from_failing_address": bool(from_failing_address),
                "window_seconds": int(self.window),
                "threshold": int(self.threshold),
            },
        )

    def observe(self, event: AuthEvent, exposed: bool | None, state: StateStore) -> list[Alert]:
        """Feed one event; alert on a success after enough failures."""
        del exposed
        if not event.user:
            return []
        token = self._tok(event.user)
        skey = f"{self.name}|{token}"
        now = epoch(event.ts)
        if event.outcome == "failure":
            state.window_add(skey, now, event.src_ip or "", weight(event), float(self.window))
            return []
        state.window_add(skey, now, "", 0, float(self.window))
        fails = state.window_count(skey)
        if fails < self.threshold or not state.flag_set(
            f"{self.name}!{token}", float(self.window), now
        ):
            return []
        failing = set(state.window_members(skey, 10_000))
        same = bool(event.src_ip) and event.src_ip in failing
        ips = [event.src_ip] if event.src_ip else []
        return [self._alert(event.user, event.ts, event.ts, fails, 1, ips, same)]

    def flush(self, state: StateStore) -> list[Alert]:
        """Nothing is pending at the end of input."""
        del state
        return []
