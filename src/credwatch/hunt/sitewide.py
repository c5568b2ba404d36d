"""Site-wide detectors over time buckets: failure-rate shift and leak-correlated stuffing.

``site_shift``: events are grouped in buckets of ``bucket`` seconds.  A bucket fires
when its failure rate (failed attempts / attempts), or its unknown-user share (unknown
user / failures with a known reason), is at least ``factor`` times the median of the
``lookback`` previous non-empty buckets and ``min_delta`` above it, with at least
``min_failures`` failures and ``min_buckets`` earlier buckets.  Consecutive firing
buckets make one alert (key ``site``).

``leak_stuffing``: what per-address tools cannot see.  An attempt is *cold* when the
user had no earlier success from that address.  Per bucket, the share of cold attempts
on users that are in the exposure index is compared with the base rate (the exposed
share among successful logins seen so far, this bucket included); a bucket is flagged when the
share is ``min_lift`` above the base rate and ``z`` standard errors above it, with at
least ``min_attempts`` cold attempts.  In flagged buckets, each address that made a
cold attempt on an exposed user that failed (or that succeeded for a user who had
already logged in successfully from elsewhere) from an address that is not shared
(fewer than ``shared_ip_users`` users logged in from it: before the attempt online,
anywhere in the input in batch), and no cold attempt on
an unexposed user, gets an alert, even if it tried a single user.  A ``site`` alert summarises the
campaign.  Events whose exposure could not be checked (``exposed`` NULL) are left out.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from credwatch.hunt.config import LeakParams, SiteShiftParams
from credwatch.hunt.detectors import SAMPLE, UserTokenizer, epoch, from_epoch, mask_user
from credwatch.hunt.interface import Alert, AuthEvent, StateStore

if TYPE_CHECKING:
    import duckdb

__all__ = ["LeakStuffing", "SiteShift"]


def _bucket_sql(seconds: int) -> str:
    """Start of the ``seconds``-long bucket (aligned on the epoch) holding ``ts``."""
    return f"time_bucket(INTERVAL {int(seconds)} SECOND, ts, TIMESTAMP '1970-01-01')"


class SiteShift:
    """A site-wide jump in failure rate or unknown-user share."""

    name = "site_shift"

    def __init__(self, params: SiteShiftParams) -> None:
        self.p = params

    def _fires(
        self,
        rate: float,
        share: float | None,
        rates: list[float],
        shares: list[float],
        failures: int,
    ) -> tuple[bool, dict[str, Any]]:
        p = self.p
        if len(rates) < p.min_buckets or failures < p.min_failures:
            return False, {}
        base_rate = statistics.median(rates)
        rate_fires = rate >= base_rate * p.factor and rate - base_rate >= p.min_delta
        base_share = statistics.median(shares) if shares else None
        share_fires = (
            share is not None
            and base_share is not None
            and share >= base_share * p.factor
            and share - base_share >= p.min_delta
        )
        info = {
            "failure_rate": round(rate, 4),
            "baseline_failure_rate": round(base_rate, 4),
            "unknown_user_share": None if share is None else round(share, 4),
            "baseline_unknown_user_share": None if base_share is None else round(base_share, 4),
            "failures": failures,
        }
        return rate_fires or share_fires, info

    def detect_batch(self, con: duckdb.DuckDBPyConnection, events: str) -> list[Alert]:
        """Run the rule over the events table ``events``."""
        rows = con.sql(
            f"""
            SELECT {_bucket_sql(self.p.bucket)} AS b,
                   sum(attempts) AS total,
                   sum(attempts) FILTER (WHERE outcome = 'failure') AS failures,
                   sum(attempts) FILTER (WHERE reason = 'unknown_user') AS unknown,
                   sum(attempts) FILTER (WHERE reason IN ('unknown_user', 'password_mismatch'))
                       AS reasoned
            FROM {events} GROUP BY b ORDER BY b
            """
        ).fetchall()
        rates: list[float] = []
        shares: list[float] = []
        fired: list[tuple[datetime, dict[str, Any]]] = []
        for b, total, failures_raw, unknown, reasoned in rows:
            failures = int(failures_raw or 0)
            rate = failures / total if total else 0.0
            share = (int(unknown or 0) / reasoned) if reasoned else None
            hit, info = self._fires(
                rate, share, rates[-self.p.lookback :], shares[-self.p.lookback :], failures
            )
            if hit:
                fired.append((b, info))
            rates.append(rate)
            if share is not None:
                shares.append(share)
        return self._merge(fired)

    def _merge(self, fired: list[tuple[datetime, dict[str, Any]]]) -> list[Alert]:
        alerts: list[Alert] = []
        step = timedelta(seconds=self.p.bucket)
        run: list[tuple[datetime, dict[str, Any]]] = []
        for item in [*fired, None]:
            if item is not None and (not run or item[0] - run[-1][0] <= step):
                run.append(item)
                continue
            if run:
                peak = max(run, key=lambda r: r[1]["failure_rate"])[1]
                alerts.append(
                    Alert(
                        rule=self.name,
                        key_type="site",
                        key="*",
                        severity="medium",
                        first_seen=run[0][0],
                        last_seen=run[-1][0] + step,
                        count=sum(r[1]["failures"] for r in run),
                        evidence={
                            **peak,
                            "buckets": len(run),
                            "bucket_seconds": self.p.bucket,
                            "factor": self.p.factor,
                        },
                    )
                )
            run = [item] if item is not None else []
        return alerts

    # -- online ---------------------------------------------------------------------
    def observe(self, event: AuthEvent, exposed: bool | None, state: StateStore) -> list[Alert]:
        """Count the event in its bucket; when a new bucket starts, judge the previous one."""
        del exposed
        b = int(epoch(event.ts) // self.p.bucket) * self.p.bucket
        out: list[Alert] = []
        current = state.counters(f"{self.name}|cur").get("b")
        if current is not None and current < b:
            out = self._close(state, current)
        if current is None or current < b:
            state.counter_add(f"{self.name}|cur", "b", b - (current or 0))
        key = f"{self.name}|{b}"
        state.counter_add(key, "total", event.attempts)
        if event.outcome == "failure":
            state.counter_add(key, "failures", event.attempts)
        if event.reason == "unknown_user":
            state.counter_add(key, "unknown", event.attempts)
        if event.reason in ("unknown_user", "password_mismatch"):
            state.counter_add(key, "reasoned", event.attempts)
        return out

    def _close(self, state: StateStore, b: int) -> list[Alert]:
        rates: list[float] = []
        shares: list[float] = []
        prev = b - self.p.bucket * self.p.lookback
        for start in range(prev, b, self.p.bucket):
            c = state.counters(f"{self.name}|{start}")
            if c.get("total"):
                rates.append(c.get("failures", 0) / c["total"])
                if c.get("reasoned"):
                    shares.append(c.get("unknown", 0) / c["reasoned"])
        c = state.counters(f"{self.name}|{b}")
        state.counter_delete(f"{self.name}|{prev - self.p.bucket}")
        total = c.get("total", 0)
        failures = c.get("failures", 0)
        rate = failures / total if total else 0.0
        share = c.get("unknown", 0) / c["reasoned"] if c.get("reasoned") else None
        hit, info = self._fires(rate, share, rates, shares, failures)
        return self._merge([(from_epoch(b), info)]) if hit else []

    def flush(self, state: StateStore) -> list[Alert]:
        """Judge the last open bucket."""
        current = state.counters(f"{self.name}|cur").get("b")
        return self._close(state, current) if current is not None else []


class LeakStuffing:
    """Leak-correlated credential stuffing (see the module docstring)."""

    name = "leak_stuffing"

    def __init__(self, params: LeakParams, tokenizer: UserTokenizer | None = None) -> None:
        self.p = params
        self._tok = tokenizer or UserTokenizer(b"credwatch-hunt-memory-only")

    def _flagged(self, cold: int, cold_exposed: int, base: float) -> bool:
        p = self.p
        if cold < p.min_attempts:
            return False
        share = cold_exposed / cold
        if share < base + p.min_lift:
            return False
        sd = math.sqrt(max(base * (1 - base), 1e-6) / cold)
        return (share - base) / sd >= p.z

    # -- batch ------------------------------------------------------------------------
    def detect_batch(self, con: duckdb.DuckDBPyConnection, events: str) -> list[Alert]:
        """Run the rule over the events table ``events`` (needs its ``exposed`` column)."""
        p = self.p
        # Joins on first-success times instead of window frames: "warm" means the pair
        # succeeded earlier in the input (online: within ``history``).  The joins run on
        # the integer codes of users and addresses; the result comes back as Arrow
        # (cheaper than a DuckDB table) and both later queries read it.
        joined = con.sql(  # noqa: F841 - DuckDB scans it
            f"""
            WITH e AS (
                SELECT ts, user_id, ip_id, "user", src_ip, outcome, exposed,
                       {_bucket_sql(p.bucket)} AS b
                FROM {events}
                WHERE user_id IS NOT NULL AND ip_id IS NOT NULL AND exposed IS NOT NULL
            ),
            pair_ok AS (SELECT user_id, ip_id, min(ts) AS t FROM e WHERE outcome = 'success'
                GROUP BY ALL),
            user_ok AS (SELECT user_id, min(t) AS t FROM pair_ok GROUP BY ALL),
            shared AS (SELECT ip_id FROM pair_ok GROUP BY ip_id HAVING count(*) >=
                {int(p.shared_ip_users)}),
            j AS (
                SELECT e.*, coalesce(pair_ok.t < e.ts, false) AS warm,
                       coalesce(user_ok.t < e.ts, false) AS user_known,
                       shared.ip_id IS NOT NULL AS is_shared
                FROM e
                LEFT JOIN pair_ok ON pair_ok.user_id = e.user_id AND pair_ok.ip_id = e.ip_id
                LEFT JOIN user_ok ON user_ok.user_id = e.user_id
                LEFT JOIN shared ON shared.ip_id = e.ip_id
            )
            -- Names are only read back for cold attempts: the others leave them NULL.
            SELECT b, ts, CASE WHEN NOT warm THEN "user" END AS "user",
                   CASE WHEN NOT warm THEN src_ip END AS src_ip,
                   outcome = 'success' AS ok, exposed, NOT warm AS cold,
                   NOT warm AND exposed AND (outcome = 'failure' OR user_known) AND NOT
                       is_shared AS qualifying
            FROM j
            """
        ).to_arrow_table()
        buckets = con.sql(
            """
            SELECT b, count(*) FILTER (WHERE cold) AS cold,
                   count(*) FILTER (WHERE cold AND exposed) AS cold_exposed,
                   count(*) FILTER (WHERE ok) AS succ,
                   count(*) FILTER (WHERE ok AND exposed) AS succ_exposed
            FROM joined GROUP BY b ORDER BY b
            """
        ).fetchall()
        flagged: list[datetime] = []
        details: dict[datetime, dict[str, Any]] = {}
        succ = succ_exposed = 0
        for b, cold, cold_exposed, s, se in buckets:
            succ += int(s)
            succ_exposed += int(se)
            base = succ_exposed / succ if succ >= p.min_base else p.base_rate
            if self._flagged(int(cold), int(cold_exposed), base):
                flagged.append(b)
                details[b] = {
                    "cold": int(cold),
                    "cold_exposed": int(cold_exposed),
                    "base_rate": round(base, 4),
                }
            succ += int(s)
            succ_exposed += int(se)
        if not flagged:
            return []
        rows = con.sql(
            f"""
            SELECT src_ip, min(ts), max(ts), count(*), count(DISTINCT "user"),
                   count(*) FILTER (WHERE ok),
                   (list(DISTINCT "user"))[1:{SAMPLE * 4}]
            FROM joined
            WHERE cold AND b IN (SELECT unnest($flagged::TIMESTAMP[]))
            GROUP BY src_ip
            HAVING bool_or(qualifying) AND NOT bool_or(NOT exposed)
            ORDER BY src_ip
            """,
            params={"flagged": flagged},
        ).fetchall()
        alerts = [
            self._ip_alert(ip, first, last, int(n), int(users), int(succ_n), sample)
            for ip, first, last, n, users, succ_n, sample in rows
        ]
        cold_total = sum(d["cold"] for d in details.values())
        exposed_total = sum(d["cold_exposed"] for d in details.values())
        alerts.append(
            Alert(
                rule=self.name,
                key_type="site",
                key="*",
                severity="high",
                first_seen=flagged[0],
                last_seen=flagged[-1] + timedelta(seconds=p.bucket),
                count=cold_total,
                evidence={
                    "buckets": len(flagged),
                    "bucket_seconds": p.bucket,
                    "cold_attempts": cold_total,
                    "cold_exposed_share": round(exposed_total / cold_total, 4)
                    if cold_total
                    else None,
                    "base_rate": min(d["base_rate"] for d in details.values()),
                    "addresses_flagged": len(rows),
                    "min_lift": p.min_lift,
                    "z": p.z,
                },
            )
        )
        return alerts

    def _ip_alert(
        self,
        ip: str,
        first: datetime,
        last: datetime,
        n: int,
        users: int,
        successes: int,
        sample: list[str] | None,
    ) -> Alert:
        return Alert(
            rule=self.name,
            key_type="ip",
            key=ip,
            severity="critical" if successes else "high",
            first_seen=first,
            last_seen=last,
            count=n,
            evidence={
                "cold_attempts": n,
                "distinct_users": users,
                "exposed_users": users,
                "successes": successes,
                "sample_users": sorted({mask_user(u) for u in sample or [] if u})[:SAMPLE],
                "span_seconds": int((last - first).total_seconds()),
            },
        )

    # -- online -----------------------------------------------------------------------
    def observe(self, event: AuthEvent, exposed: bool | None, state: StateStore) -> list[Alert]:
        """Feed one event with its exposure flag; alert addresses in flagged buckets."""
        p = self.p
        if exposed is None or not event.user or not event.src_ip:
            return []
        now = epoch(event.ts)
        token = self._tok(event.user)
        pair = f"{self.name}|warm|{token}|{event.src_ip}"
        warm = state.flag_get(pair, now)
        user_ok = state.flag_get(f"{self.name}|ok|{token}", now)
        b = int(now // p.bucket) * p.bucket
        bkey = f"{self.name}|b|{b}"
        if event.outcome == "success":
            state.counter_add(f"{self.name}|base", "succ", 1)
            if exposed:
                state.counter_add(f"{self.name}|base", "succ_exposed", 1)
        base_c = state.counters(f"{self.name}|base")
        succ = base_c.get("succ", 0)
        base = base_c.get("succ_exposed", 0) / succ if succ >= p.min_base else p.base_rate
        out: list[Alert] = []
        ip_users = state.window_distinct(f"{self.name}|ipusers|{event.src_ip}")
        if not warm:
            state.counter_add(bkey, "cold", 1)
            qualifying = bool(
                exposed and (event.outcome == "failure" or user_ok) and ip_users < p.shared_ip_users
            )
            if exposed:
                state.counter_add(bkey, "cold_exposed", 1)
                if qualifying:
                    state.window_add(f"{self.name}|cand|{b}", now, event.src_ip, 1, 2.0 * p.bucket)
            else:
                state.flag_set(f"{self.name}|ne|{b}|{event.src_ip}", 2.0 * p.bucket, now)
            c = state.counters(bkey)
            if self._flagged(c.get("cold", 0), c.get("cold_exposed", 0), base):
                if state.flag_set(f"{self.name}!site|{b}", float(p.bucket), now):
                    # The bucket just flagged: every candidate so far, once.
                    out.append(self._site_alert(b, c, base))
                    candidates = state.window_members(f"{self.name}|cand|{b}", 100_000)
                else:
                    candidates = [event.src_ip] if qualifying else []
                for ip in candidates:
                    if state.flag_get(f"{self.name}|ne|{b}|{ip}", now):
                        continue
                    if state.flag_set(f"{self.name}!ip|{ip}", float(p.history), now):
                        sample = [event.user] if ip == event.src_ip else []
                        out.append(self._ip_alert(ip, event.ts, event.ts, 1, 1, 0, sample))
        if event.outcome == "success":
            state.window_add(f"{self.name}|ipusers|{event.src_ip}", now, token, 1, float(p.history))
            state.flag_set(pair, float(p.history), now)
            state.flag_set(f"{self.name}|ok|{token}", float(p.history), now)
        return out

    def _site_alert(self, b: int, c: dict[str, int], base: float) -> Alert:
        start = from_epoch(b)
        return Alert(
            rule=self.name,
            key_type="site",
            key="*",
            severity="high",
            first_seen=start,
            last_seen=start + timedelta(seconds=self.p.bucket),
            count=c.get("cold", 0),
            evidence={
                "buckets": 1,
                "bucket_seconds": self.p.bucket,
                "cold_attempts": c.get("cold", 0),
                "cold_exposed_share": round(c.get("cold_exposed", 0) / max(c.get("cold", 0), 1), 4),
                "base_rate": round(base, 4),
                "min_lift": self.p.min_lift,
                "z": self.p.z,
            },
        )

    def flush(self, state: StateStore) -> list[Alert]:
        """Nothing is pending at the end of input (addresses are alerted as buckets flag)."""
        del state
        return []
