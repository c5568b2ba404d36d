"""Detectors: each rule fires on its pattern and not on benign traffic, in batch and online."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
import redis

from credwatch.hunt import (
    AllOf,
    AnyOf,
    HuntConfig,
    MemoryState,
    OnlineHunter,
    RedisState,
    hunt_events,
)
from credwatch.hunt.batch import build_detectors
from credwatch.hunt.config import LeakParams
from credwatch.hunt.detectors import FailuresPerIp, UsersPerIp
from credwatch.hunt.exposure import IndexExposure
from credwatch.hunt.interface import Alert, AuthEvent, StateStore
from credwatch.hunt.sitewide import LeakStuffing
from credwatch.workspace import Workspace
from tests.hunt.conftest import event, events_table


def batch(
    events: Sequence[AuthEvent],
    config: HuntConfig | None = None,
    exposed: Sequence[bool | None] | None = None,
) -> list[Alert]:
    cfg = config or HuntConfig()
    return hunt_events(
        events_table(events, exposed), build_detectors(cfg, leak=exposed is not None)
    )


def online(
    events: Sequence[AuthEvent],
    config: HuntConfig | None = None,
    exposed: Sequence[bool | None] | None = None,
    state: StateStore | None = None,
) -> list[Alert]:
    hunter = OnlineHunter.from_config(
        config or HuntConfig(), state or MemoryState(), leak=exposed is not None
    )
    exp = list(exposed) if exposed is not None else [None] * len(events)
    out = [
        a
        for e, x in zip(
            sorted(events, key=lambda e: e.ts),
            [x for _, x in sorted(zip(events, exp, strict=True), key=lambda p: p[0].ts)],
            strict=True,
        )
        for a in hunter.observe(e, x)
    ]
    return out + hunter.flush()


Runner = Callable[..., list[Alert]]


def keys(alerts: Sequence[Alert], rule: str) -> set[tuple[str, str]]:
    return {(a.key_type, a.key) for a in alerts if a.rule == rule}


def brute_force() -> list[AuthEvent]:
    return [event(i * 20, "198.51.100.9", "admin@nifty.com") for i in range(15)]


def spraying() -> list[AuthEvent]:
    return [
        event(i * 30 + p, "198.51.100.20", f"u{i}@nifty.com") for i in range(12) for p in range(2)
    ]


def benign() -> list[AuthEvent]:
    out = []
    for u in range(30):
        ip = f"192.0.2.{u + 1}"
        out.append(event(u * 60, ip, f"user{u}@nifty.com", reason="password_mismatch"))
        out.extend(
            event(u * 60 + 10 + k * 600, ip, f"user{u}@nifty.com", "success") for k in range(3)
        )
    return out


@pytest.mark.parametrize("run", [batch, online], ids=["batch", "online"])
def test_brute_force_and_spraying_fire(run: Runner) -> None:
    alerts = run(brute_force() + spraying() + benign())
    assert keys(alerts, "failures_per_ip") >= {("ip", "198.51.100.9"), ("ip", "198.51.100.20")}
    assert ("ip", "198.51.100.20") in keys(alerts, "spraying")
    assert ("ip", "198.51.100.9") not in keys(alerts, "spraying")
    assert ("ip", "198.51.100.20") in keys(alerts, "users_per_ip")
    flagged = {a.key for a in alerts if a.key_type == "ip"}
    assert not any(k.startswith("192.0.2.") for k in flagged)


@pytest.mark.parametrize("run", [batch, online], ids=["batch", "online"])
def test_subnet_ips_per_user_and_takeover(run: Runner) -> None:
    subnet = [event(i * 30, f"203.0.113.{i + 1}", f"x{i}@nifty.com") for i in range(60)]
    distributed = [event(i * 40, f"198.51.{i}.7", "victim@nifty.com") for i in range(6)]
    takeover = [*distributed, event(300, "198.51.99.7", "victim@nifty.com", "success")]
    ipv6 = [event(i * 30, f"2001:db8:aa:bb::{i + 1:x}", f"y{i}@nifty.com") for i in range(60)]
    alerts = run(subnet + takeover + ipv6)
    assert keys(alerts, "failures_per_subnet") == {
        ("subnet", "203.0.113.0/24"),
        ("subnet", "2001:db8:aa:bb::/64"),
    }
    assert keys(alerts, "ips_per_user") == {("user", "v***@nifty.com")}
    takeovers = [a for a in alerts if a.rule == "success_after_failures"]
    assert [a.key for a in takeovers] == ["v***@nifty.com"] and takeovers[0].severity == "high"
    assert takeovers[0].evidence["success_from_failing_address"] is False
    guessed = run([*distributed, event(300, "198.51.5.7", "victim@nifty.com", "success")])
    got_in = [a for a in guessed if a.rule == "success_after_failures"]
    assert got_in[0].severity == "critical" and got_in[0].evidence["success_from_failing_address"]


def test_batch_ignores_input_order() -> None:
    events = brute_force() + spraying()
    assert keys(batch(events), "failures_per_ip") == keys(
        batch(list(reversed(events))), "failures_per_ip"
    )


def test_site_shift_fires_on_a_failure_wave() -> None:
    calm = [
        event(b * 600 + k, f"192.0.2.{k % 50 + 1}", f"u{k}@nifty.com", "success")
        for b in range(8)
        for k in range(100)
    ]
    calm += [event(b * 600 + 300, "192.0.2.200", "typo@nifty.com") for b in range(8)]
    wave = [
        event(8 * 600 + k, f"198.51.100.{k % 200 + 1}", f"n{k}@nifty.com", reason="unknown_user")
        for k in range(150)
    ]
    wave += [
        event(8 * 600 + k, f"192.0.2.{k % 50 + 1}", f"u{k}@nifty.com", "success")
        for k in range(100)
    ]
    for run in (batch, online):
        shifts = [a for a in run(calm + wave) if a.rule == "site_shift"]
        assert len(shifts) == 1 and shifts[0].key_type == "site"
        assert shifts[0].evidence["failure_rate"] > 0.5


def _leak_scenario(leaked: list[str]) -> tuple[list[AuthEvent], set[str]]:
    """Legit users log in (day 1); then many addresses try one or two leaked users each."""
    events = []
    for u in range(100):
        user = leaked[u] if u < 60 else f"clean{u}@nifty.com"
        events += [event(k * 3600 + u, f"192.0.2.{u + 1}", user, "success") for k in range(3)]
    attackers = set()
    for i in range(80):
        ip = f"198.51.{100 + i // 50}.{i % 50 + 1}"
        attackers.add(ip)
        # Every fourth pair still works: the attacker logs in as an active user from a new address.
        target = leaked[i % 60] if i % 4 == 0 else leaked[100 + i]
        events.append(
            event(12 * 3600 + i * 20, ip, target, outcome="success" if i % 4 == 0 else "failure")
        )
        if i % 2:
            events.append(event(12 * 3600 + i * 20 + 5, ip, leaked[180 + i % 20]))
    # A roaming legit user of a clean account and a typo from home: never flagged.
    events.append(event(12 * 3600 + 100, "203.0.113.50", "clean70@nifty.com", "success"))
    events.append(event(12 * 3600 + 200, "192.0.2.3", leaked[2]))
    return events, attackers


def test_leak_stuffing_with_a_real_index(leaked_workspace: tuple[Workspace, list[str]]) -> None:
    ws, leaked = leaked_workspace
    events, attackers = _leak_scenario(leaked)
    exposure = IndexExposure(ws)
    flags = [exposure.status(e.user) if e.user else None for e in events]
    assert flags.count(True) > 0 and flags.count(False) > 0
    cfg = HuntConfig(leak_stuffing=replace(LeakParams(), bucket=3600, min_attempts=20))
    for run in (batch, online):
        alerts = run(events, cfg, flags)
        ips = {a.key for a in alerts if a.rule == "leak_stuffing" and a.key_type == "ip"}
        successful = [
            a
            for a in alerts
            if a.rule == "leak_stuffing" and a.key_type == "ip" and a.severity == "critical"
        ]
        recall = len(ips & attackers) / len(attackers)
        assert recall >= 0.9, (run.__name__, recall)
        assert not ips - attackers
        assert any(a.key_type == "site" for a in alerts if a.rule == "leak_stuffing")
        if run is batch:
            assert successful
    # Per-address rules cannot see this campaign at all.
    plain = batch(events)
    assert not keys(plain, "failures_per_ip") & {("ip", ip) for ip in attackers}


def test_leak_stuffing_is_silent_without_exposure() -> None:
    events = [event(i, f"198.51.100.{i + 1}", f"a{i}@nifty.com") for i in range(50)]
    det = LeakStuffing(LeakParams())
    state = MemoryState()
    assert all(det.observe(e, None, state) == [] for e in events)


def test_default_domain_for_bare_names(leaked_workspace: tuple[Workspace, list[str]]) -> None:
    ws, leaked = leaked_workspace
    bare = leaked[5].split("@")[0]
    assert IndexExposure(ws).status(bare) is None
    assert IndexExposure(ws, default_domain="nifty.com").status(bare) is True
    assert IndexExposure(ws, default_domain="nifty.com").status("nobody") is False


def test_all_of_and_any_of() -> None:
    cfg = HuntConfig()
    both = AllOf(
        "brute_many_users", [FailuresPerIp(cfg.failures_per_ip), UsersPerIp(cfg.users_per_ip)]
    )
    either = AnyOf("either", [FailuresPerIp(cfg.failures_per_ip), UsersPerIp(cfg.users_per_ip)])
    events = brute_force() + spraying()
    got = hunt_events(events_table(events), [both])
    assert [(a.rule, a.key) for a in got] == [("brute_many_users", "198.51.100.20")]
    assert set(got[0].evidence) == {"failures_per_ip", "users_per_ip"}
    assert len(hunt_events(events_table(events), [either])) == 3
    state = MemoryState()
    streamed = [a for e in sorted(events, key=lambda e: e.ts) for a in both.observe(e, None, state)]
    assert [(a.rule, a.key) for a in streamed] == [("brute_many_users", "198.51.100.20")]


def test_alert_json_masks_users_and_has_the_contract_keys() -> None:
    alerts = batch(
        spraying() + [event(i * 40, f"198.51.{i}.7", "victim@nifty.com") for i in range(6)]
    )
    for alert in alerts:
        doc = alert.to_json()
        assert set(doc) == {
            "rule",
            "key_type",
            "key",
            "severity",
            "first_seen",
            "last_seen",
            "count",
            "evidence",
        }
        assert "victim@" not in str(doc) and "u1@" not in str(doc)


def test_memory_state_windows_and_flags() -> None:
    s = MemoryState()
    s.window_add("k", 0.0, "a", 2, 60.0)
    s.window_add("k", 30.0, "b", 1, 60.0)
    s.window_add("k", 61.0, "b", 1, 60.0)
    assert (s.window_count("k"), s.window_distinct("k"), s.window_span("k")) == (2, 1, (30.0, 61.0))
    assert (
        s.flag_set("f", 10.0, 0.0)
        and not s.flag_set("f", 10.0, 5.0)
        and s.flag_set("f", 10.0, 11.0)
    )
    assert s.counter_add("c", "x", 3) == 3 and s.counters("c") == {"x": 3}


@pytest.mark.redis
def test_redis_state_matches_memory(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = f"cwtest:{uuid.uuid4().hex}:"
    try:
        events = brute_force() + spraying() + benign()
        shared = online(events, state=RedisState(client, prefix=prefix))
        local = online(events)
        assert {(a.rule, a.key) for a in shared} == {(a.rule, a.key) for a in local}
        keys_in_redis = client.keys(prefix + "*")
        assert keys_in_redis and not any("@" in k for k in keys_in_redis)
    finally:
        for k in client.scan_iter(prefix + "*"):
            client.delete(k)


def test_dovecot_double_lines_count_once() -> None:
    """With auth_verbose each failure is a passdb line and a login line: one attempt."""
    events = []
    for i in range(4):
        fail = event(i * 30, "198.51.100.50", "kei@nifty.com")
        events.append(fail)
        events.append(replace(fail, protocol="auth"))  # the passdb line of the same failure
    events.append(event(200, "192.0.2.50", "kei@nifty.com", "success"))
    for run in (batch, online):
        alerts = run(events)
        assert not [a for a in alerts if a.rule == "success_after_failures"], run.__name__
        assert not [a for a in alerts if a.rule == "failures_per_ip"], run.__name__
