"""Demo stage: Dovecot and Postfix auth logs of the demo tenants, with three campaigns.

Background: active subscribers log in over IMAP, POP3 and SMTP submission from a home
address (some IPv6), a shared mobile carrier address, now and then from somewhere new
(travel); a few mistype their password first, and a few devices keep retrying an old
password.  Embedded, with ground truth:

* **stuffing**: the leaked pairs replayed from thousands of addresses, one or two
  attempts each, succeeding where the leaked password still works (and "unknown user"
  for cancelled accounts);
* **spraying**: a few common passwords tried over many users from a small botnet;
* **brute force**: thousands of SMTP AUTH failures from one address.

The log is one mail backend's.  Dovecot's director pins every mailbox to one backend,
so a backend's log holds every login of its own subscribers, attacks on them included,
and nobody else's; the platform runs one backend per
:attr:`AuthLogSpec.backend_subscribers` subscribers and the demo writes the first
backend's log (subscribers ``0 .. backend_subscribers``: the population is drawn
independently per subscriber, so they are a fair sample of the whole).  The log's
volume therefore grows with the platform up to one backend and then stays put, which
keeps a full-size incident (14.22 M subscribers, about 230 M lines for the whole
platform over two days) at one backend's few million lines, while the two-day window
keeps what the hunt needs: a day of history before the campaigns (so a subscriber's
usual addresses are known) and each campaign whole, at the platform's own ratio of
attack to background traffic.  A shorter window would not do: with about six logins a
day, most logins in a window of a few hours are a user's first from that address, which
is what leaked-pair stuffing looks like.

Lines are built vectorised (NumPy and Arrow), sorted by time and written as one
syslog file (``mail.log``, RFC 3164 like Debian's).  The ground truth (campaign
addresses, the keyed hashes of campaign users, never an address or a password) goes
to ``authlogs-truth.json`` next to the log and into ``ctx.artifacts["authlogs"]``.

Example:
    >>> out = write_auth_logs(Population(2000), Path("demo"), keyer)   # doctest: +SKIP
    >>> out.lines > 0                                                    # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from credwatch.demo.population import _COMMON, Population
from credwatch.demo.runner import DemoContext, StageResult
from credwatch.keys import Keyer
from credwatch.normalize import Normalizer

__all__ = ["AuthLogSpec", "AuthLogs", "run", "write_auth_logs"]

_I64 = npt.NDArray[np.int64]
_HOME_FIRST_OCTETS = np.array(
    [
        60,
        61,
        101,
        106,
        110,
        111,
        112,
        113,
        114,
        115,
        116,
        118,
        119,
        120,
        121,
        122,
        123,
        124,
        125,
        126,
        133,
        153,
        175,
        180,
        182,
        183,
        210,
        211,
        218,
        219,
        220,
        221,
        222,
    ]
)
_ATTACK_FIRST_OCTETS = np.array(
    [
        5,
        23,
        31,
        37,
        41,
        45,
        46,
        77,
        78,
        79,
        80,
        81,
        85,
        87,
        89,
        91,
        92,
        93,
        94,
        95,
        103,
        109,
        138,
        141,
        146,
        154,
        156,
        167,
        170,
        176,
        177,
        178,
        181,
        185,
        186,
        187,
        188,
        189,
        190,
        191,
        193,
        194,
        195,
        196,
        197,
        200,
        201,
    ]
)
_MOBILE_PREFIXES = np.array([(1 << 24) * 49 + (96 << 16), (1 << 24) * 1 + (66 << 16)])
_SPRAY_NAMES = np.array(
    ["info", "admin", "test", "support", "office", "sales", "webmaster", "postmaster"]
)


@dataclass(frozen=True, slots=True)
class AuthLogSpec:
    """Shape of the generated logs.

    Attributes:
        days: length of the log; the campaigns run on the second day.
        sessions_per_day: mean logins per active subscriber and day (IMAP clients poll).
        typo_rate: share of logins preceded by a mistyped password.
        stale_device_share: share of active subscribers with a device retrying an old password.
        roaming_rate: share of logins from a never-seen address (travel, a friend's Wi-Fi).
        ipv6_share: share of subscribers whose home address is IPv6.
        stuffing_share: share of leaked subscribers the stuffing campaign tries.
        spray_ips: addresses of the spraying botnet.
        spray_users_per_ip: users each spraying address tries.
        spray_passwords: common passwords sprayed.
        brute_attempts: SMTP AUTH attempts of the brute force.
        backend_subscribers: subscribers per mail backend; the log is the first backend's.
        seed: random seed (the population's seed is mixed in).
    """

    days: float = 2.0
    sessions_per_day: float = 6.0
    typo_rate: float = 0.02
    stale_device_share: float = 0.002
    roaming_rate: float = 0.002
    ipv6_share: float = 0.08
    stuffing_share: float = 0.3
    spray_ips: int = 30
    spray_users_per_ip: int = 120
    spray_passwords: int = 3
    brute_attempts: int = 3000
    backend_subscribers: int = 100_000
    seed: int = 7


@dataclass(frozen=True, slots=True)
class AuthLogs:
    """What :func:`write_auth_logs` wrote."""

    log_path: Path
    truth_path: Path
    lines: int
    truth: dict[str, Any] = field(repr=False)


@dataclass(slots=True)
class _Events:
    """Columns of generated auth events (one row per attempt)."""

    ts: list[_I64] = field(default_factory=list)  # epoch seconds
    user: list[_I64] = field(default_factory=list)  # subscriber index, -1 = made-up name
    name: list[pa.Array] = field(default_factory=list)  # the user name written
    ip: list[pa.Array] = field(default_factory=list)
    proto: list[_I64] = field(default_factory=list)  # 0 imap, 1 pop3, 2 submission
    outcome: list[_I64] = field(default_factory=list)  # 0 success, 1 mismatch, 2 unknown user

    def add(
        self, ts: _I64, user: _I64, name: pa.Array, ip: pa.Array, proto: _I64, outcome: _I64
    ) -> None:
        self.ts.append(ts)
        self.user.append(user)
        self.name.append(name)
        self.ip.append(ip)
        self.proto.append(proto)
        self.outcome.append(outcome)


def _ipv4(values: _I64) -> pa.Array:
    octets = [pa.array((values >> shift) & 255).cast(pa.string()) for shift in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".")


def _ipv6(rng: np.random.Generator, size: int, prefix: str) -> pa.Array:
    """``prefix:g1:g2::g3:g4`` addresses (random /64s under ``prefix``)."""
    g = [pa.array(np.char.mod("%x", rng.integers(1, 65536, size))) for _ in range(4)]
    return pc.binary_join_element_wise(prefix, g[0], g[1], "", g[2], g[3], ":")


def _addresses(rng: np.random.Generator, size: int, firsts: npt.NDArray[np.int64]) -> _I64:
    first = firsts[rng.integers(0, len(firsts), size)]
    rest = rng.integers(0, 1 << 24, size)
    rest = np.where((rest & 255) == 0, rest | 1, rest)  # avoid .0 host addresses
    rest = np.where((rest & 255) == 255, rest - 1, rest)
    return (first.astype(np.int64) << 24) | rest


def write_auth_logs(
    population: Population, out_dir: Path, keyer: Keyer, spec: AuthLogSpec | None = None
) -> AuthLogs:
    """Generate ``out_dir/mail.log`` and ``out_dir/authlogs-truth.json``.

    The same population and spec always give the same files.
    """
    spec = spec or AuthLogSpec()
    rng = np.random.default_rng([population.seed, spec.seed])
    # The first backend's subscribers (all of them on a platform of one backend).
    subs = population.head(min(population.n, spec.backend_subscribers))
    n = len(subs)
    status = subs.status.to_numpy(zero_copy_only=False)
    active = np.flatnonzero(status == "active")
    in_leak = subs.in_leak
    start = int(population.incident_time().timestamp()) + 86400  # the day after the dump
    span = int(spec.days * 86400)
    day2 = start + 86400 if spec.days >= 2 else start + span // 2
    ev = _Events()

    # -- background ------------------------------------------------------------------
    home_v4 = _ipv4(_addresses(rng, n, _HOME_FIRST_OCTETS))
    home_v6 = _ipv6(rng, n, "2400:4050")
    home = pc.if_else(pa.array(rng.random(n) < spec.ipv6_share), home_v6, home_v4)
    mobile_pool = _ipv4(_MOBILE_PREFIXES[rng.integers(0, 2, 400)] + rng.integers(1, 65535, 400))
    mobile_of = rng.integers(0, 400, n)
    has_mobile = rng.random(n) < 0.3
    activity = rng.gamma(2.0, spec.sessions_per_day / 2.0, n) * spec.days
    counts = rng.poisson(activity[active])
    users = np.repeat(active, counts)
    m = len(users)
    ts = start + rng.integers(0, span, m)
    where = rng.random(m)
    roaming = where < spec.roaming_rate
    use_mobile = (~roaming) & (where < 0.15) & has_mobile[users]
    ip = pc.if_else(
        pa.array(use_mobile),
        mobile_pool.take(pa.array(mobile_of[users])),
        home.take(pa.array(users)),
    )
    ip = pc.if_else(pa.array(roaming), _ipv4(_addresses(rng, m, _HOME_FIRST_OCTETS)), ip)
    proto = rng.choice(3, m, p=(0.7, 0.15, 0.15))
    names = subs.email.take(pa.array(users))
    ev.add(ts, users, names, ip, proto, np.zeros(m, np.int64))
    typo = rng.random(m) < spec.typo_rate
    ev.add(
        ts[typo] - rng.integers(5, 60, int(typo.sum())),
        users[typo],
        names.filter(pa.array(typo)),
        ip.filter(pa.array(typo)),
        proto[typo],
        np.ones(int(typo.sum()), np.int64),
    )
    stale = active[rng.random(len(active)) < spec.stale_device_share]
    if len(stale):
        tries = rng.integers(20, 80, len(stale))
        su = np.repeat(stale, tries)
        first = start + rng.integers(0, span // 2, len(stale))
        st = (
            np.repeat(first, tries)
            + np.concatenate([np.arange(k) * 420 for k in tries])
            + rng.integers(0, 60, len(su))
        )
        ev.add(
            st,
            su,
            subs.email.take(pa.array(su)),
            home.take(pa.array(su)),
            np.zeros(len(su), np.int64),
            np.ones(len(su), np.int64),
        )

    # -- stuffing: leaked pairs from thousands of addresses, one or two tries each -------
    leaked = np.flatnonzero(in_leak)
    targets = (
        rng.choice(leaked, int(len(leaked) * spec.stuffing_share), replace=False)
        if len(leaked)
        else leaked
    )
    per_ip = rng.integers(1, 3, max(len(targets) // 3 * 2, 1))
    per_ip = per_ip[np.cumsum(per_ip) <= len(targets)]
    targets = targets[: int(per_ip.sum())]
    n_ips = len(per_ip)
    v6 = rng.random(n_ips) < 0.05
    stuff_ips = pc.if_else(
        pa.array(v6),
        _ipv6(rng, n_ips, "2a0d:5600"),
        _ipv4(_addresses(rng, n_ips, _ATTACK_FIRST_OCTETS)),
    )
    owner = np.repeat(np.arange(n_ips), per_ip)
    s_ts = day2 + 2 * 3600 + rng.integers(0, 8 * 3600, len(targets))
    s_out = np.where(
        status[targets] == "cancelled", 2, np.where(subs.password_still_valid[targets], 0, 1)
    )
    s_ip = stuff_ips.take(pa.array(owner))
    ev.add(
        s_ts,
        targets,
        subs.email.take(pa.array(targets)),
        s_ip,
        rng.choice(2, len(targets), p=(0.8, 0.2)),
        s_out,
    )

    # -- spraying: a few common passwords over many users -------------------------------
    spray_ip_int = (
        (np.int64(185) << 24)
        + (np.int64(220) << 16)
        + rng.integers(0, 3, spec.spray_ips) * 256
        + rng.integers(2, 250, spec.spray_ips)
    )
    spray_ip_int = np.unique(spray_ip_int)
    spray_ips = _ipv4(spray_ip_int)
    sp_users = rng.integers(0, n, (len(spray_ip_int), spec.spray_users_per_ip))
    fake = rng.random(sp_users.shape) < 0.05
    sp_users = np.where(fake, -1, sp_users)
    pw = _COMMON[: spec.spray_passwords]
    current = subs.current_password.to_numpy(zero_copy_only=False)
    p_rows = []
    for k, password in enumerate(pw):
        flat_u = sp_users.ravel()
        ok = (flat_u >= 0) & (current[np.maximum(flat_u, 0)] == password)
        out = np.where(
            flat_u < 0,
            2,
            np.where(ok, 0, np.where(status[np.maximum(flat_u, 0)] == "cancelled", 2, 1)),
        )
        base = day2 + 12 * 3600 + k * 2400
        tsk = base + rng.integers(0, 2400, flat_u.size)
        p_rows.append(
            (tsk, flat_u, np.repeat(np.arange(len(spray_ip_int)), spec.spray_users_per_ip), out)
        )
    sp_ts = np.concatenate([r[0] for r in p_rows])
    sp_u = np.concatenate([r[1] for r in p_rows])
    sp_owner = np.concatenate([r[2] for r in p_rows])
    sp_out = np.concatenate([r[3] for r in p_rows])
    tenant_domains = pc.unique(subs.domain)
    fake_names = pc.binary_join_element_wise(
        pa.array(_SPRAY_NAMES[rng.integers(0, len(_SPRAY_NAMES), len(sp_u))]),
        tenant_domains.take(pa.array(rng.integers(0, len(tenant_domains), len(sp_u)))),
        "@",
    )
    sp_names = pc.if_else(
        pa.array(sp_u < 0), fake_names, subs.email.take(pa.array(np.maximum(sp_u, 0)))
    )
    ev.add(
        sp_ts,
        sp_u,
        sp_names,
        spray_ips.take(pa.array(sp_owner)),
        np.zeros(len(sp_u), np.int64),
        sp_out,
    )

    # -- brute force: SMTP AUTH from one address ----------------------------------------
    brute_ip_int = np.array(
        [(np.int64(45) << 24) + (np.int64(155) << 16) + (np.int64(205) << 8) + 233]
    )
    b_ts = start + 10 * 3600 + np.sort(rng.integers(0, 3600, spec.brute_attempts))
    ev.add(
        b_ts,
        np.full(spec.brute_attempts, -1),
        pa.nulls(spec.brute_attempts, pa.string()),
        _ipv4(np.repeat(brute_ip_int, spec.brute_attempts)),
        np.full(spec.brute_attempts, 2),
        np.ones(spec.brute_attempts, np.int64),
    )

    lines = _render(ev, rng, population)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "mail.log"
    _write_lines(log_path, lines)

    normalizer = Normalizer()

    def keys(idx: _I64) -> list[str]:
        emails = subs.email.take(pa.array(np.unique(idx[idx >= 0]))).to_pylist()
        return sorted(keyer.email_key(normalizer.normalize(e)).hex() for e in emails)

    truth = {
        "schema": "credwatch-demo-authlogs/1",
        "log": log_path.name,
        "lines": len(lines),
        "backend": {
            "subscribers": n,
            "platform_subscribers": population.n,
            "backends": -(-population.n // spec.backend_subscribers),
        },
        "start": _iso(start),
        "end": _iso(start + span),
        "campaigns": {
            "stuffing": {
                "ips": sorted(set(stuff_ips.to_pylist())),
                "user_keys": keys(targets),
                "attempts": len(targets),
                "successes": int((s_out == 0).sum()),
                "window": [_iso(day2 + 2 * 3600), _iso(day2 + 10 * 3600)],
            },
            "spraying": {
                "ips": sorted(set(spray_ips.to_pylist())),
                "user_keys": keys(sp_u),
                "attempts": len(sp_u),
                "successes": int((sp_out == 0).sum()),
                "passwords": len(pw),
            },
            "brute_force": {
                "ips": _ipv4(brute_ip_int).to_pylist(),
                "user_keys": [],
                "attempts": spec.brute_attempts,
                "successes": 0,
            },
        },
    }
    truth_path = out_dir / "authlogs-truth.json"
    truth_path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return AuthLogs(log_path=log_path, truth_path=truth_path, lines=len(lines), truth=truth)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(int(epoch), tz=UTC).replace(tzinfo=None).isoformat()


def _render(ev: _Events, rng: np.random.Generator, population: Population) -> pa.Array:
    """Syslog lines of every event (and its companion lines), sorted by time."""
    del population
    ts = np.concatenate(ev.ts)
    user = np.concatenate(ev.user)
    name = pa.concat_arrays([a.cast(pa.string()) for a in ev.name])
    ip = pa.concat_arrays([a.cast(pa.string()) for a in ev.ip])
    proto = np.concatenate(ev.proto)
    outcome = np.concatenate(ev.outcome)
    del user
    size = len(ts)
    stamp = pc.strftime(pa.array(ts.astype("datetime64[s]")), format="%b %d %H:%M:%S")
    stamp = pc.replace_substring_regex(stamp, r"^(\w{3}) 0", r"\1  ")
    host = " mx1 "
    session = pa.array(np.char.mod("%012x", rng.integers(0, 1 << 47, size)))
    pid = pa.array(rng.integers(1000, 65000, size)).cast(pa.string())
    proto_name = pa.array(np.array(["imap", "pop3", "submission"])[proto])
    lip = pa.array(np.array(["203.0.113.10", "203.0.113.11"])[rng.integers(0, 2, size)])
    dovecot = proto < 2
    j = pc.binary_join_element_wise
    login_ok = j(
        stamp,
        host,
        "dovecot: ",
        proto_name,
        "-login: Login: user=<",
        name,
        ">, method=PLAIN, rip=",
        ip,
        ", lip=",
        lip,
        ", mpid=",
        pid,
        ", TLS, session=<",
        session,
        ">",
        "",
    )
    secs = pa.array(rng.integers(1, 9, size)).cast(pa.string())
    login_fail = j(
        stamp,
        host,
        "dovecot: ",
        proto_name,
        "-login: Disconnected (auth failed, 1 attempts in ",
        secs,
        " secs): user=<",
        name,
        ">, method=PLAIN, rip=",
        ip,
        ", lip=",
        lip,
        ", TLS, session=<",
        session,
        ">",
        "",
    )
    reason = pa.array(np.where(outcome == 2, "unknown user", "Password mismatch"))
    passdb = j(
        stamp,
        host,
        "dovecot: auth-worker(",
        pid,
        "): sql(",
        name,
        ",",
        ip,
        ",<",
        session,
        ">): ",
        reason,
        "",
    )
    queue = pa.array(np.char.mod("%010X", rng.integers(0, 1 << 39, size)))
    smtp_ok = j(
        stamp,
        host,
        "postfix/submission/smtpd[",
        pid,
        "]: ",
        queue,
        ": client=unknown[",
        ip,
        "], sasl_method=PLAIN, sasl_username=",
        name,
        "",
    )
    smtp_fail = j(
        stamp,
        host,
        "postfix/submission/smtpd[",
        pid,
        "]: warning: unknown[",
        ip,
        "]: SASL PLAIN authentication failed: authentication failure",
        "",
    )
    smtp_connect = j(
        stamp, host, "postfix/submission/smtpd[", pid, "]: connect from unknown[", ip, "]", ""
    )
    logout = j(
        stamp,
        host,
        "dovecot: ",
        proto_name,
        "(",
        name,
        ")<",
        pid,
        "><",
        session,
        ">: Logged out in=",
        pid,
        " out=",
        secs,
        "00",
        "",
    )
    main = pc.if_else(
        pa.array(dovecot),
        pc.if_else(pa.array(outcome == 0), login_ok, login_fail),
        pc.if_else(pa.array(outcome == 0), smtp_ok, smtp_fail),
    )
    # Companion lines: the passdb reason for Dovecot failures, "connect from" before SMTP,
    # "Logged out" after a Dovecot session.
    comp_passdb = pa.array(dovecot & (outcome > 0))
    comp_connect = pa.array(~dovecot)
    comp_logout = pa.array(dovecot & (outcome == 0) & (rng.random(size) < 0.6))
    order_ts = [
        ts,
        ts[comp_passdb.to_numpy(zero_copy_only=False)],
        ts[comp_connect.to_numpy(zero_copy_only=False)],
        ts[comp_logout.to_numpy(zero_copy_only=False)] + 1,
    ]
    # Large results of Arrow's compute functions can come back chunked.
    parts = (
        main,
        passdb.filter(comp_passdb),
        smtp_connect.filter(comp_connect),
        logout.filter(comp_logout).cast(pa.string()),
    )
    all_lines = pa.chunked_array(
        [c for p in parts for c in (p.chunks if isinstance(p, pa.ChunkedArray) else [p])],
        pa.string(),
    )
    sub_order = np.concatenate(
        [
            np.full(len(order_ts[0]), 2),
            np.full(len(order_ts[1]), 1),
            np.full(len(order_ts[2]), 0),
            np.full(len(order_ts[3]), 3),
        ]
    )
    all_ts = np.concatenate(order_ts)
    order = np.lexsort((sub_order, all_ts))
    # Re-stamp companion "Logged out" lines (one second later) after sorting.
    lines = all_lines.take(pa.array(order))
    shifted = np.concatenate(order_ts)[order]
    fixed_stamp = pc.replace_substring_regex(
        pc.strftime(pa.array(shifted.astype("datetime64[s]")), format="%b %d %H:%M:%S"),
        r"^(\w{3}) 0",
        r"\1  ",
    )
    return j(fixed_stamp, pc.utf8_slice_codeunits(lines, 15), "")


def _write_lines(path: Path, lines: pa.Array) -> None:
    with path.open("wb") as fh:
        step = 200_000
        for i in range(0, len(lines), step):
            chunk = lines.slice(i, step)
            fh.write(("\n".join(chunk.to_pylist()) + "\n").encode("utf-8"))


def run(ctx: DemoContext) -> StageResult:
    """Write the auth logs of the demo tenants and their ground truth."""
    out = write_auth_logs(ctx.population, ctx.out_dir / "authlogs", ctx.workspace.keyer())
    camp = out.truth["campaigns"]
    ctx.artifacts["authlogs"] = {
        "paths": [str(out.log_path)],
        "truth_path": str(out.truth_path),
        "truth": out.truth,
    }
    backend = out.truth["backend"]
    lines = (
        f"{out.lines:,} log lines in {out.log_path} (backend 1 of {backend['backends']:,}: "
        f"{backend['subscribers']:,} of {backend['platform_subscribers']:,} subscribers)",
        f"stuffing: {camp['stuffing']['attempts']:,} attempts from "
        f"{len(camp['stuffing']['ips']):,} addresses "
        f"({camp['stuffing']['successes']:,} succeed)",
        f"spraying: {camp['spraying']['attempts']:,} attempts from "
        f"{len(camp['spraying']['ips'])} addresses; "
        f"brute force: {camp['brute_force']['attempts']:,} attempts from 1 address",
    )
    return StageResult(
        name="authlogs",
        lines=lines,
        data={
            "log": str(out.log_path),
            "truth": str(out.truth_path),
            "lines": out.lines,
            "backend": backend,
            "campaigns": {
                k: {"ips": len(v["ips"]), "attempts": v["attempts"], "successes": v["successes"]}
                for k, v in camp.items()
            },
        },
    )
