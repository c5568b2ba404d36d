"""Parsers: one table of real-shaped lines per family, corpus coverage, properties."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credwatch.hunt.engine import PARSERS, Engine
from credwatch.hunt.timestamps import infer_year
from tests.hunt.conftest import REFERENCE, parse

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "fail2ban-logs"

# (line, service, protocol, user, ip, outcome, reason, attempts)
CASES = [
    (
        "Jun 24 10:00:01 mx1 dovecot: imap-login: Login: user=<taro@nifty.com>, method=PLAIN, "
        "rip=192.0.2.10, lip=203.0.113.1, mpid=4242, TLS, session=<abcDEF123>",
        "dovecot",
        "imap",
        "taro@nifty.com",
        "192.0.2.10",
        "success",
        "ok",
        1,
    ),
    (
        "Jun 24 10:00:02 mx1 dovecot: pop3-login: Disconnected (auth failed, 3 attempts in 12 "
        "secs): "
        "user=<hanako@biglobe.ne.jp>, method=PLAIN, rip=198.51.100.7, lip=203.0.113.1, TLS",
        "dovecot",
        "pop3",
        "hanako@biglobe.ne.jp",
        "198.51.100.7",
        "failure",
        "auth_failed",
        3,
    ),
    (
        "Jun 24 10:00:03 mx1 dovecot[812]: imap-login: Login aborted: Connection closed (auth "
        "failed, "
        "2 attempts in 9 secs) (auth_failed): user=<ken>, method=PLAIN, rip=2001:db8:5::17, "
        "lip=2001:db8::1, TLS, session=<x1>",
        "dovecot",
        "imap",
        "ken",
        "2001:db8:5::17",
        "failure",
        "auth_failed",
        2,
    ),
    (
        "Jun 24 10:00:04 mx1 dovecot: submission-login: Aborted login (auth failed, 1 attempts "
        "in 2 secs): "
        "method=LOGIN, rip=203.0.113.99, lip=203.0.113.1",
        "dovecot",
        "submission",
        None,
        "203.0.113.99",
        "failure",
        "auth_failed",
        1,
    ),
    (
        "Jun 24 10:00:05 mx1 dovecot: auth-worker(3121): sql(aoi@cpi.ad.jp,192.0.2.55,<sess1>): "
        "unknown user",
        "dovecot",
        "auth",
        "aoi@cpi.ad.jp",
        "192.0.2.55",
        "failure",
        "unknown_user",
        1,
    ),
    (
        "Jun 24 10:00:06 mx1 dovecot: auth: passwd-file(rin@pikara.ne.jp,192.0.2.56): Password "
        "mismatch",
        "dovecot",
        "auth",
        "rin@pikara.ne.jp",
        "192.0.2.56",
        "failure",
        "password_mismatch",
        1,
    ),
    (
        "Jun 24 10:00:07 mx1 dovecot: auth-worker(77): pam(yuki,192.0.2.57): pam_authenticate() "
        "failed: "
        "Authentication failure (password mismatch?)",
        "dovecot",
        "auth",
        "yuki",
        "192.0.2.57",
        "failure",
        "password_mismatch",
        1,
    ),
    (
        "Jun 24 10:00:08 mx1 dovecot: auth: ldap(mio@zaq.ne.jp,192.0.2.58,<s2>): unknown user "
        "(SHA1 of given password: 0a1b2c)",
        "dovecot",
        "auth",
        "mio@zaq.ne.jp",
        "192.0.2.58",
        "failure",
        "unknown_user",
        1,
    ),
    (
        "Jun 24 10:00:09 mx1 postfix/submission/smtpd[2211]: warning: unknown[192.0.2.60]: "
        "SASL LOGIN authentication failed: UGFzc3dvcmQ6",
        "postfix",
        "submission",
        None,
        "192.0.2.60",
        "failure",
        "auth_failed",
        1,
    ),
    (
        "Jun 24 10:00:10 mx1 postfix/smtpd[2212]: warning: host.example.net[192.0.2.61]:5523: "
        "SASL PLAIN authentication failed: authentication failure, sasl_username=sora@nifty.com",
        "postfix",
        "smtp",
        "sora@nifty.com",
        "192.0.2.61",
        "failure",
        "auth_failed",
        1,
    ),
    (
        "Jun 24 10:00:11 mx1 postfix/submission/smtpd[2213]: 4QX1Y2Z3: client=unknown[192.0.2.62], "
        "sasl_method=PLAIN, sasl_username=umi@commufa.jp",
        "postfix",
        "submission",
        "umi@commufa.jp",
        "192.0.2.62",
        "success",
        "ok",
        1,
    ),
    (
        "Jun 24 10:00:12 mx1 postfix/smtpd[2214]: disconnect from unknown[192.0.2.63] ehlo=1 "
        "auth=0/4 "
        "rset=1 commands=2/6",
        "postfix",
        "smtp",
        None,
        "192.0.2.63",
        "failure",
        "auth_failed",
        4,
    ),
    (
        "[24-Jun-2026 10:00:13 +0900]: <k2j3> Failed login for emi@nifty.com from 192.0.2.64 in "
        "session "
        "k2j3abc (error: 0)",
        "roundcube",
        "http",
        "emi@nifty.com",
        "192.0.2.64",
        "failure",
        "auth_failed",
        1,
    ),
    (
        "Jun 24 10:00:14 web1 roundcube: IMAP Error: Login failed for admin from 127.0.0.1 from "
        "192.0.2.65. "
        "AUTHENTICATE PLAIN: Authentication failed. in /usr/share/roundcube/rcube_imap.php on "
        "line 1",
        "roundcube",
        "http",
        "admin from 127.0.0.1",
        "192.0.2.65",
        "failure",
        "auth_failed",
        1,
    ),
    (
        "[24-Jun-2026 10:00:15 +0900]: <k2j4> Successful login for naomi@biglobe.ne.jp (ID: 12) "
        "from "
        "192.0.2.66 in session k2j4abc",
        "roundcube",
        "http",
        "naomi@biglobe.ne.jp",
        "192.0.2.66",
        "success",
        "ok",
        1,
    ),
    (
        "Jun 24 10:00:16 gw sshd[901]: Failed password for invalid user oracle from 192.0.2.67 "
        "port 40022 ssh2",
        "sshd",
        "ssh",
        "oracle",
        "192.0.2.67",
        "failure",
        "unknown_user",
        1,
    ),
    (
        "Jun 24 10:00:17 gw sshd[902]: Failed password for root from 2001:db8::67 port 40023 ssh2",
        "sshd",
        "ssh",
        "root",
        "2001:db8::67",
        "failure",
        "password_mismatch",
        1,
    ),
    (
        "Jun 24 10:00:18 gw sshd[903]: Accepted publickey for deploy from 192.0.2.68 port 40024 "
        "ssh2: "
        "ED25519 SHA256:abc",
        "sshd",
        "ssh",
        "deploy",
        "192.0.2.68",
        "success",
        "ok",
        1,
    ),
    (
        "Jun 24 10:00:19 gw sshd[904]: Invalid user test user from 192.0.2.69 port 40025",
        "sshd",
        "ssh",
        "test user",
        "192.0.2.69",
        "failure",
        "unknown_user",
        1,
    ),
    (
        "2026-06-24 10:00:20 dovecot_login authenticator failed for (User) [192.0.2.70]:52011 "
        "I=[203.0.113.5]:587: 535 Incorrect authentication data (set_id=taro@nifty.com)",
        "exim",
        "smtp",
        "taro@nifty.com",
        "192.0.2.70",
        "failure",
        "auth_failed",
        1,
    ),
    (
        "2026-06-24 10:00:21 1sA2b3-000Abc-1x <= taro@nifty.com H=(pc) [192.0.2.71]:50122 "
        "P=esmtpsa "
        "X=TLS1.3 A=dovecot_plain:taro@nifty.com S=1234",
        "exim",
        "smtp",
        "taro@nifty.com",
        "192.0.2.71",
        "success",
        "ok",
        1,
    ),
    (
        '2026/06/24 10:00:22 [error] 77#77: *9 user "admin": password mismatch, '
        'client: 192.0.2.72, server: mail.example.jp, request: "GET /admin HTTP/1.1", '
        'host: "mail.example.jp"',
        "nginx",
        "http",
        "admin",
        "192.0.2.72",
        "failure",
        "password_mismatch",
        1,
    ),
    (
        '2026/06/24 10:00:23 [error] 77#77: *9 user "ghost" was not found in '
        '"/etc/nginx/.htpasswd", client: 192.0.2.73, server: mail.example.jp, '
        'request: "GET / HTTP/1.1"',
        "nginx",
        "http",
        "ghost",
        "192.0.2.73",
        "failure",
        "unknown_user",
        1,
    ),
    (
        "[Wed Jun 24 10:00:24.123456 2026] [auth_basic:error] [pid 42] [client 192.0.2.74:50123] "
        'AH01617: user bob: authentication failure for "/private": Password Mismatch',
        "apache",
        "http",
        "bob",
        "192.0.2.74",
        "failure",
        "password_mismatch",
        1,
    ),
    (
        "[Wed Jun 24 10:00:25 2026] [error] [client 2001:db8::74] user nobody not found: /private",
        "apache",
        "http",
        "nobody",
        "2001:db8::74",
        "failure",
        "unknown_user",
        1,
    ),
    (
        '{"@timestamp": "2026-06-24T01:00:26Z", "event": {"category": "authentication", "outcome": '
        '"failure"}, "source": {"ip": "192.0.2.75"}, "user": {"name": "kaori@nifty.com"}, '
        '"service": {"type": "imap"}}',
        "imap",
        "",
        "kaori@nifty.com",
        "192.0.2.75",
        "failure",
        "auth_failed",
        1,
    ),
]


@pytest.mark.parametrize(
    ("line", "service", "protocol", "user", "ip", "outcome", "reason", "attempts"),
    CASES,
    ids=[f"{c[1]}-{c[6]}-{i}" for i, c in enumerate(CASES)],
)
def test_line_becomes_event(
    engine: Engine,
    line: str,
    service: str,
    protocol: str,
    user: str | None,
    ip: str,
    outcome: str,
    reason: str,
    attempts: int,
) -> None:
    rows = parse(engine, [line])
    assert len(rows) == 1, line
    row = rows[0]
    assert (row["service"], row["protocol"], row["user"], row["src_ip"]) == (
        service,
        protocol,
        user,
        ip,
    )
    assert (row["outcome"], row["reason"], row["attempts"]) == (outcome, reason, attempts)
    assert row["ts"] is not None and row["ts"].year == 2026


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Jun 24 10:00:00 h x", datetime(2026, 6, 24, 10, 0, 0)),
        ("Jun  4 10:00:00 h x", datetime(2026, 6, 4, 10, 0, 0)),
        ("Aug 3 15:30:49 h x", datetime(2025, 8, 3, 15, 30, 49)),
        ("<34>Jun 24 10:00:00 h x", datetime(2026, 6, 24, 10, 0, 0)),
        ("<165>1 2026-06-24T10:00:00.003+09:00 h app - - x", datetime(2026, 6, 24, 1, 0, 0, 3000)),
        ("2026-06-24T10:00:00Z x", datetime(2026, 6, 24, 10, 0, 0)),
        ("2026/06/24 10:00:00 [error] x", datetime(2026, 6, 24, 10, 0, 0)),
        ("[Wed Jun 24 10:00:00 2026] x", datetime(2026, 6, 24, 10, 0, 0)),
        ("[24-Jun-2026 10:00:00 +0200]: x", datetime(2026, 6, 24, 8, 0, 0)),
        ("@400000004c91b044077a9e94 x", datetime(2010, 9, 16, 5, 51, 0)),
    ],
)
def test_timestamp_formats(engine: Engine, line: str, expected: datetime) -> None:
    full = line + " sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2"
    rows = parse(engine, [full], reference=REFERENCE)
    assert rows[0]["ts"] == expected


def test_year_rolls_back_over_new_year(engine: Engine) -> None:
    lines = [
        "Dec 31 23:59:58 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2",
        "Jan  1 00:00:03 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2",
    ]
    rows = parse(engine, lines, reference=datetime(2027, 1, 1, 0, 5))
    assert [r["ts"] for r in rows] == [
        datetime(2026, 12, 31, 23, 59, 58),
        datetime(2027, 1, 1, 0, 0, 3),
    ]
    assert infer_year(12, 31, datetime(2027, 1, 1)) == 2026
    assert infer_year(1, 1, datetime(2027, 1, 1)) == 2027
    assert infer_year(2, 29, datetime(2027, 3, 1)) == 2026


def test_unmatched_lines_are_not_events(engine: Engine) -> None:
    lines = [
        "Jun 24 10:00:00 mx1 postfix/smtpd[1]: connect from unknown[192.0.2.1]",
        "Jun 24 10:00:00 mx1 dovecot: imap(taro@nifty.com)<1><s>: Logged out in=1 out=2",
        "Jun 24 10:00:00 mx1 dovecot: imap-login: Disconnected (no auth attempts in 0 secs): "
        "user=<>, rip=192.0.2.2",
        "random text",
        "",
    ]
    assert parse(engine, lines) == []


@pytest.mark.parametrize("parser", PARSERS, ids=[p.name for p in PARSERS])
def test_format_option_restricts_families(parser: object) -> None:
    eng = Engine.for_format(parser.name)  # type: ignore[attr-defined]
    families = {r.name.split(".")[0] for r in eng.rules}
    assert families == {parser.name}  # type: ignore[attr-defined]


_USER = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<>,()\n\r\t "),
    min_size=1,
    max_size=40,
)
_IPV4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=_USER, ip=_IPV4, fail=st.booleans())
def test_dovecot_fast_and_slow_paths_agree(engine: Engine, user: str, ip: str, fail: bool) -> None:
    """Whatever the user name, the fast extraction gives what the full pattern gives."""
    if fail:
        line = (
            f"Jun 24 10:00:00 mx1 dovecot: imap-login: Disconnected (auth failed, 1 attempts in "
            f"2 secs): "
            f"user=<{user}>, method=PLAIN, rip={ip}, lip=10.0.0.1, TLS"
        )
    else:
        line = (
            f"Jun 24 10:00:00 mx1 dovecot: imap-login: Login: user=<{user}>, method=PLAIN, "
            f"rip={ip}, lip=10.0.0.1"
        )
    rows = parse(engine, [line])
    assert len(rows) == 1
    assert rows[0]["user"] == user
    assert rows[0]["src_ip"] == ip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=st.text(min_size=0, max_size=60), tail=st.text(max_size=80))
def test_any_text_never_crashes_and_keeps_the_last_address(
    engine: Engine, user: str, tail: str
) -> None:
    """Attacker-controlled names cannot move the address: sshd takes the final one."""
    user = user.replace("\n", " ").replace("\r", " ")
    line = f"Jun 24 10:00:00 gw sshd[1]: Failed password for {user} from 192.0.2.200 port 22 ssh2"
    rows = parse(engine, [line, tail.replace("\n", " ")])
    sshd = [r for r in rows if r["service"] == "sshd" and r["line_no"] == 1]
    assert sshd and sshd[0]["src_ip"] == "192.0.2.200"


# -- coverage against fail2ban's annotated samples ---------------------------------------

#: fail2ban sample files we support, and the line kinds that are credential attempts.
_CORPUS_FILES = (
    "dovecot",
    "postfix",
    "roundcube-auth",
    "sshd",
    "exim",
    "nginx-http-auth",
    "apache-auth",
)
_CREDENTIAL = re.compile(
    r"auth failed|authentication failed|authenticator failed|password mismatch|unknown user|"
    r"Failed (?:password|publickey|keyboard)|Invalid user|ogin failed|FAILED login|Failed login|"
    r"user \S* ?not found|was not found in|invalid credentials|pam_authenticate|authentication "
    r"failure|Authentication failure",
    re.IGNORECASE,
)


def _annotated(path: Path) -> list[tuple[int, str, dict[str, object]]]:
    out = []
    pending: dict[str, object] | None = None
    for number, line in enumerate(
        path.read_text(encoding="utf-8", errors="replace").split("\n"), 1
    ):
        m = re.match(r"^#+ ?failJSON:(.+)$", line)
        if m:
            try:
                pending = json.loads(m.group(1))
            except json.JSONDecodeError:
                pending = None
            continue
        if line.startswith("#") or pending is None:
            continue
        out.append((number, line, pending))
        pending = None
    return out


@pytest.mark.parametrize("name", _CORPUS_FILES)
def test_fail2ban_corpus_coverage(engine: Engine, name: str) -> None:
    """Every annotated credential line yields its IP (and user); nothing is extracted wrong."""
    path = CORPUS / name
    if not path.exists():
        pytest.skip("the shared fail2ban corpus is not present")
    _, stats = engine.parse_file(path)
    table, _ = engine.parse_file(path)
    by_line = {r["line_no"]: r for r in table.to_pylist()}
    wrong, missed, checked = [], [], 0
    for number, line, note in _annotated(path):
        if not note.get("match") or not note.get("host"):
            continue
        row = by_line.get(number)
        if row is None:
            if _CREDENTIAL.search(line) and not re.match(r"^\S+ \S+\[\d+\]: ", line):
                missed.append(number)
            continue
        checked += 1
        users = list(note.get("users") or ([note["user"]] if "user" in note else []))  # type: ignore[call-overload]
        if row["src_ip"] != note["host"] or (users and (row["user"] or "") not in users):
            wrong.append(number)
    assert stats.unparsed >= 0
    assert not wrong, f"{name}: wrong ip/user on lines {wrong}"
    assert checked > 0
    assert len(missed) <= max(2, checked // 10), f"{name}: credential lines missed: {missed}"
