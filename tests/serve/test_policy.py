"""The Dovecot auth-policy endpoint: decisions, reports into detectors, shared flags."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from credwatch.errors import ExternalServiceError
from credwatch.serve import (
    Flag,
    MemoryFlagStore,
    PolicyEngine,
    PolicyEvent,
    RedisFlagStore,
)
from credwatch.serve.interface import FlagStore
from credwatch.workspace import Workspace
from tests.serve.conftest import AUTH, TOKEN, AppClient


class FailureCounter:
    """A minimal EventObserver fake: flags an IP after N failed reports."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures: dict[str, int] = {}
        self.seen: list[PolicyEvent] = []

    def observe(self, event: PolicyEvent, now: float) -> list[Flag]:
        self.seen.append(event)
        if event.success or event.src_ip is None:
            return []
        self.failures[event.src_ip] = self.failures.get(event.src_ip, 0) + 1
        if self.failures[event.src_ip] >= self.limit:
            return [Flag("ip", event.src_ip, now + 60, "test-failures")]
        return []


def _engine(store: FlagStore | None = None, observer: FailureCounter | None = None, delay: int = 0):
    return PolicyEngine(
        store or MemoryFlagStore(),
        user_key=lambda login: login.strip().lower() if "@" in login else None,
        observer=observer,
        exposed=lambda login: login.endswith("@nifty.com"),
        delay_seconds=delay,
    )


def test_clean_source_is_allowed() -> None:
    decision = _engine().allow({"login": "taro@nifty.com", "remote": "192.0.2.7"}, now=0)
    assert decision.to_json() == {"status": 0, "msg": ""}


@pytest.mark.parametrize(
    ("kind", "key", "remote", "login"),
    [
        ("ip", "192.0.2.7", "192.0.2.7", "x@y.jp"),
        ("ip", "2001:db8::1", "2001:db8:0:0::1", "x@y.jp"),
        ("ip", "192.0.2.7", "::ffff:192.0.2.7", "x@y.jp"),
        ("subnet", "192.0.2.0/24", "192.0.2.99", "x@y.jp"),
        ("subnet", "2001:db8:1:2::/64", "2001:db8:1:2::99", "x@y.jp"),
        ("user", "Taro@nifty.com", "198.51.100.1", "taro@nifty.com"),
    ],
)
def test_flagged_source_or_user_is_rejected(kind, key: str, remote: str, login: str) -> None:
    engine = _engine()
    engine.flag(kind, key, ttl=60, rule="api", now=0)
    decision = engine.allow({"login": login, "remote": remote}, now=30)
    assert decision.status < 0
    assert decision.msg
    assert engine.allow({"login": login, "remote": remote}, now=61).status == 0
    assert engine.allow({"login": "other@x.jp", "remote": "203.0.113.5"}, now=30).status == 0


def test_delay_instead_of_reject() -> None:
    engine = _engine(delay=5)
    engine.flag("ip", "192.0.2.7", ttl=60, rule="api", now=0)
    assert engine.allow({"remote": "192.0.2.7"}, now=1).status == 5


@pytest.mark.parametrize(
    ("kind", "key"),
    [("ip", "not-an-ip"), ("subnet", "10.0.0.0/8"), ("subnet", "x"), ("user", "no-at-sign")],
)
def test_bad_flag_keys_are_refused(kind, key: str) -> None:
    with pytest.raises(ValueError, match=r"not|subnets"):
        _engine().flag(kind, key, ttl=60, rule="api", now=0)


def test_reports_feed_the_observer_and_raise_flags() -> None:
    observer = FailureCounter(limit=3)
    engine = _engine(observer=observer)
    attrs = {"login": "taro@nifty.com", "remote": "192.0.2.9", "protocol": "imap"}
    for i in range(3):
        assert engine.allow(attrs, now=i).status == 0
        engine.report({**attrs, "success": False, "policy_reject": False}, now=i)
    assert engine.allow(attrs, now=4).status < 0
    event = observer.seen[0]
    assert (event.protocol, event.src_ip, event.success, event.exposed) == (
        "imap",
        "192.0.2.9",
        False,
        True,
    )


@pytest.mark.redis
def test_redis_flags_are_shared_and_survive_restarts(redis_url: str) -> None:
    prefix = f"cwtest-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    try:
        worker_a = _engine(RedisFlagStore(client, prefix=prefix))
        worker_b = _engine(RedisFlagStore(redis.Redis.from_url(redis_url), prefix=prefix))
        now = time.time()
        worker_a.flag("ip", "192.0.2.7", ttl=60, rule="api", now=now)
        assert worker_b.allow({"remote": "192.0.2.7"}, now=now).status < 0
        # A "restarted" worker: a new client and a new engine, same Redis.
        restarted = _engine(RedisFlagStore(redis.Redis.from_url(redis_url), prefix=prefix))
        flag = restarted.flags.active([("ip", "192.0.2.7")], now)
        assert flag is not None
        assert flag.rule == "api"
        assert now + 50 < flag.until <= now + 61
        # A shorter flag does not shorten a longer one.
        worker_b.flag("ip", "192.0.2.7", ttl=5, rule="api", now=now)
        longer = restarted.flags.active([("ip", "192.0.2.7")], now)
        assert longer is not None
        assert longer.until > now + 50
        assert restarted.flags.clear("ip", "192.0.2.7")
        assert worker_a.allow({"remote": "192.0.2.7"}, now=now).status == 0
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


@pytest.mark.redis
def test_redis_failure_is_an_external_service_error() -> None:
    client = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    store = RedisFlagStore(client)
    with pytest.raises(ExternalServiceError):
        store.active([("ip", "192.0.2.1")], 0)


@pytest.fixture
def client(leak_ws: Workspace, make_client: Callable[..., AppClient]) -> AppClient:
    return make_client(leak_ws)


def test_http_allow_report_and_flags(client: AppClient) -> None:
    body = {"login": "taro@nifty.com", "remote": "192.0.2.7", "protocol": "imap", "pwhash": "ab"}
    allow = client.post("/v1/policy", params={"command": "allow"}, json=body, headers=AUTH)
    assert allow.status_code == 200
    assert allow.json() == {"status": 0, "msg": ""}
    report = client.post(
        "/v1/policy",
        params={"command": "report"},
        json={**body, "success": True, "policy_reject": False},
        headers=AUTH,
    )
    assert report.status_code == 200
    flagged = client.post(
        "/v1/policy/flags", json={"kind": "ip", "key": "192.0.2.7", "ttl_seconds": 60}, headers=AUTH
    )
    assert flagged.status_code == 201
    refused = client.post("/v1/policy", params={"command": "allow"}, json=body, headers=AUTH)
    assert refused.json()["status"] < 0
    user = client.post(
        "/v1/policy/flags", json={"kind": "user", "key": "hanako@biglobe.ne.jp"}, headers=AUTH
    )
    assert user.status_code == 201
    assert "hanako" not in user.text
    other = {"login": "Hanako@biglobe.ne.jp", "remote": "203.0.113.9"}
    assert (
        client.post("/v1/policy", params={"command": "allow"}, json=other, headers=AUTH).json()[
            "status"
        ]
        < 0
    )
    metrics = client.get("/metrics").text
    assert 'credwatch_policy_decisions_total{result="reject"} 2.0' in metrics


@pytest.mark.parametrize(
    ("params", "body", "headers", "status"),
    [
        ({"command": "allow"}, {"remote": "192.0.2.1"}, {}, 401),
        ({"command": "drop"}, {"remote": "192.0.2.1"}, AUTH, 422),
        ({}, {"remote": "192.0.2.1"}, AUTH, 422),
        ({"command": "allow"}, ["not", "an", "object"], AUTH, 422),
        ({"command": "allow"}, {"remote": 12, "login": ["x"]}, AUTH, 200),
    ],
)
def test_http_policy_bad_requests(
    client: AppClient, params: dict[str, str], body: object, headers: dict[str, str], status: int
) -> None:
    response = client.post("/v1/policy", params=params, json=body, headers=headers)
    assert response.status_code == status


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "host", "key": "x"},
        {"kind": "ip", "key": "999.1.1.1"},
        {"kind": "ip", "key": "192.0.2.1", "ttl_seconds": 0},
        {"kind": "ip", "key": "192.0.2.1", "ttl_seconds": True},
        {"kind": "ip", "key": "192.0.2.1", "extra": 1},
        {"kind": "subnet", "key": "10.0.0.0/8"},
    ],
)
def test_http_bad_flags(client: AppClient, body: dict[str, object]) -> None:
    assert client.post("/v1/policy/flags", json=body, headers=AUTH).status_code == 422


def _hunt_ws(leak_ws: Workspace, root: Path, redis_url: str | None = None) -> Workspace:
    ws = Workspace(root=root / "ws")
    shutil.copytree(leak_ws.root, ws.root)
    redis_line = f'redis_url = "{redis_url}"\n' if redis_url else ""
    ws.config_path.write_text(
        f'[serve]\ntoken = "{TOKEN}"\n{redis_line}'
        "[hunt.failures_per_ip]\nwindow = 600\nthreshold = 3\n",
        encoding="utf-8",
    )
    return ws


def _report_failures(client: AppClient, ip: str, n: int) -> None:
    for i in range(n):
        body = {"login": f"user{i}@nifty.com", "remote": ip, "protocol": "imap"}
        response = client.post(
            "/v1/policy",
            params={"command": "report"},
            json={**body, "success": False, "policy_reject": False},
            headers=AUTH,
        )
        assert response.status_code == 200


def _allowed(client: AppClient, ip: str) -> int:
    body = {"login": "taro@nifty.com", "remote": ip, "protocol": "imap"}
    return int(
        client.post("/v1/policy", params={"command": "allow"}, json=body, headers=AUTH).json()[
            "status"
        ]
    )


def test_hunt_detectors_flag_a_brute_forcing_source(
    leak_ws: Workspace, tmp_path: Path, make_client: Callable[..., AppClient]
) -> None:
    client = make_client(_hunt_ws(leak_ws, tmp_path))
    _report_failures(client, "198.51.100.23", 2)
    assert _allowed(client, "198.51.100.23") == 0
    _report_failures(client, "198.51.100.23", 1)
    assert _allowed(client, "198.51.100.23") < 0
    assert _allowed(client, "198.51.100.24") == 0


@pytest.mark.redis
def test_hunt_state_is_shared_across_workers_and_restarts(
    leak_ws: Workspace, tmp_path: Path, redis_url: str, make_client: Callable[..., AppClient]
) -> None:
    ip = f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    ws = _hunt_ws(leak_ws, tmp_path, redis_url)
    worker_a = make_client(ws)
    worker_b = make_client(ws)
    try:
        # Failures reported to two workers add up in the shared windows.
        _report_failures(worker_a, ip, 2)
        _report_failures(worker_b, ip, 1)
        assert _allowed(worker_a, ip) < 0
        restarted = make_client(ws)
        assert _allowed(restarted, ip) < 0
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(f"credwatch:flag:ip:{ip}")
        for key in client.scan_iter(f"credwatch:hunt:*{ip}*"):
            client.delete(key)
