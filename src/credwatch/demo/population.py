"""The deterministic synthetic subscriber base every demo stage derives from.

A :class:`Population` of ``n`` subscribers of the six ISP tenants of the reference
breach.  Each subscriber has an address on a tenant domain, a status (active, dormant,
cancelled), a *leaked* password (what the attackers took) and a *current* password
(what the account uses today: the same for a share of subscribers, which makes the
``pair_valid`` finding), whether the subscriber is in the dump at all, a recovery
address, MFA and a last login.

Everything is generated vectorised with NumPy from a seed, so 14.22 M subscribers take
seconds and the same seed always yields the same incident.  Columns are produced in
slices (:meth:`Population.slice`) so callers can stream a full-size incident.

Example:
    >>> pop = Population(1000, seed=7)
    >>> part = pop.slice(0, 10)
    >>> len(part)
    10
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["TENANTS", "Population", "PopulationSlice", "Tenant"]


@dataclass(frozen=True, slots=True)
class Tenant:
    """One ISP of the shared mail platform."""

    name: str
    operator: str
    domains: tuple[str, ...]
    share: float


#: The six ISPs of the reference breach, with their share of subscribers.
TENANTS: tuple[Tenant, ...] = (
    Tenant("nifty", "Nifty", ("nifty.com",), 0.28),
    Tenant("biglobe", "BIGLOBE", ("biglobe.ne.jp", "mail.biglobe.ne.jp"), 0.26),
    Tenant("jcom", "JCOM", ("jcom.home.ne.jp", "zaq.ne.jp"), 0.17),
    Tenant("commufa", "Chubu Telecom", ("commufa.jp",), 0.11),
    Tenant("cpi", "KDDI Web Communications", ("cpi.ad.jp",), 0.10),
    Tenant("pikara", "STNet", ("pikara.ne.jp", "mb.pikara.ne.jp"), 0.08),
)

STATUSES = ("active", "dormant", "cancelled")
_STATUS_P = (0.70, 0.18, 0.12)

_GIVEN = np.array(
    "hiroshi takashi kenji yuki akira satoshi makoto naoki daisuke kazuki shota ryota yuta "
    "haruto sota yui aoi hina sakura yuna mio rin miyu emi kaori yoko keiko tomoko naomi "
    "ayumi megumi nanami misaki hanako taro ichiro jiro koji shin ken mai ai rie".split()
)
_FAMILY = np.array(
    "sato suzuki takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato yoshida "
    "yamada sasaki yamaguchi matsumoto inoue kimura hayashi shimizu yamazaki mori abe "
    "ikeda hashimoto ishikawa ogawa okada maeda fujita goto kondo murakami endo aoki "
    "sakamoto fukuda ota nishimura fujii".split()
)
#: The most common passwords in Japanese ISP dumps and in public corpora, most popular first.
_COMMON = np.array(
    "123456 password 12345678 qwerty 123456789 111111 1234567 sakura 000000 abc123 "
    "iloveyou 1qaz2wsx password1 123123 nifty2000 biglobe1 pokemon doraemon baseball "
    "tokyo2020 asdfghjk 1234qwer zaq12wsx hello123 monkey dragon letmein kitty "
    "princess soccer arashi naruto totoro 7777777 987654321 qazwsx welcome "
    "sunshine".split()
)
_WORDS = np.array(
    "sakura tokyo osaka neko inu hana sora umi yama kaze hikari yume ai tiger "
    "giants tigers carp hawks fuji kyoto nagoya mikan ramen sushi piano summer winter "
    "blue green happy lucky star moon".split()
)
_FREE_MAIL = np.array(["gmail.com", "yahoo.co.jp", "docomo.ne.jp", "ezweb.ne.jp", "outlook.jp"])


def _join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays (and literal strings) element-wise, in C++."""
    return pc.binary_join_element_wise(*parts, "")


def _pick(values: npt.NDArray[np.str_], index: npt.NDArray[np.int64]) -> pa.Array:
    return pa.array(values).take(pa.array(index))


def _base36(values: npt.NDArray[np.int64]) -> pa.Array:
    digits = pa.array(list("0123456789abcdefghijklmnopqrstuvwxyz"))
    out = digits.take(pa.array(values % 36))
    rest = values // 36
    while bool(rest.any()):
        digit = pc.if_else(pa.array(rest > 0), digits.take(pa.array(rest % 36)), "")
        out = _join(digit, out)
        rest = rest // 36
    return out


@dataclass(frozen=True, slots=True)
class PopulationSlice:
    """Subscribers ``start`` .. ``start + len``: parallel Arrow string arrays and NumPy arrays.

    ``recovery_email`` is null where the subscriber gave none.
    """

    start: int
    tenant: pa.Array
    email: pa.Array
    domain: pa.Array
    status: pa.Array
    in_leak: npt.NDArray[np.bool_]
    leaked_password: pa.Array
    current_password: pa.Array
    password_still_valid: npt.NDArray[np.bool_]
    recovery_email: pa.Array
    mfa: npt.NDArray[np.bool_]
    last_login: npt.NDArray[np.datetime64]

    def __len__(self) -> int:
        return len(self.email)


@dataclass(frozen=True, slots=True)
class Population:
    """``n`` synthetic subscribers, reproducible from ``seed``.

    Attributes:
        n: number of subscribers.
        seed: the random seed; the same seed gives the same incident.
        leak_share: share of subscribers whose pair is in the dump.
        still_valid_share: among leaked subscribers, share whose leaked password still works.
        now: the incident's reference time (last logins are before it).
    """

    n: int
    seed: int = 20260601
    leak_share: float = 0.72
    still_valid_share: float = 0.35
    now: datetime = datetime(2026, 7, 1, tzinfo=UTC)

    def slice(self, start: int, stop: int) -> PopulationSlice:
        """Generate subscribers ``start`` .. ``stop`` (each slice is independent of others)."""
        stop = min(stop, self.n)
        idx = np.arange(start, stop, dtype=np.int64)
        size = len(idx)
        # One generator per 1M-block, so any slice is reproducible on its own.
        rng = np.random.default_rng([self.seed, start])

        shares = np.array([t.share for t in TENANTS])
        tenant_i = rng.choice(len(TENANTS), size=size, p=shares / shares.sum())
        tenant = _pick(np.array([t.name for t in TENANTS]), tenant_i)
        # Domain: the tenant's first domain, or its second where it has one (1 in 4).
        domain_table = np.array(
            [t.domains[-1] if len(t.domains) > 1 else t.domains[0] for t in TENANTS]
        )
        first_domain = np.array([t.domains[0] for t in TENANTS])
        use_second = rng.random(size) < 0.25
        domain = _pick(
            np.concatenate([first_domain, domain_table]), tenant_i + len(TENANTS) * use_second
        )

        given_i = rng.integers(0, len(_GIVEN), size)
        family_i = rng.integers(0, len(_FAMILY), size)
        given = _pick(_GIVEN, given_i)
        family = _pick(_FAMILY, family_i)
        style = rng.integers(0, 3, size)
        handle = pc.if_else(
            pa.array(style == 0),
            _join(given, ".", family),
            pc.if_else(pa.array(style == 1), _join(family, given), _join(given, "_")),
        )
        email = _join(handle, _base36(idx), "@", domain)

        status_i = rng.choice(3, size=size, p=_STATUS_P)
        status = _pick(np.array(STATUSES), status_i)
        in_leak = rng.random(size) < self.leak_share
        leaked = self._passwords(rng, size, given, family)
        valid = in_leak & (rng.random(size) < self.still_valid_share)
        changed = _join(
            _pick(_WORDS, rng.integers(0, len(_WORDS), size)),
            "#",
            _base36(rng.integers(10**6, 10**9, size)),
        )
        current = pc.if_else(pa.array(valid), leaked, changed)

        has_recovery = rng.random(size) < 0.6
        # A quarter of recovery addresses sit on an affected ISP: the `recovery_exposed`
        # case the remediation must handle first.
        on_affected = rng.random(size) < 0.25
        rec_domain = pc.if_else(
            pa.array(on_affected),
            _pick(first_domain, rng.integers(0, len(TENANTS), size)),
            _pick(_FREE_MAIL, rng.integers(0, len(_FREE_MAIL), size)),
        )
        recovery = pc.if_else(
            pa.array(has_recovery),
            _join(family, _base36(idx + 7), "@", rec_domain),
            pa.scalar(None, pa.string()),
        )
        mfa = (status_i == 0) & (rng.random(size) < 0.12)
        days = np.where(
            status_i == 0,
            rng.integers(0, 60, size),
            np.where(status_i == 1, rng.integers(200, 1500, size), rng.integers(90, 2500, size)),
        )
        now = np.datetime64(self.now.replace(tzinfo=None), "s")
        last_login = (
            now
            - days.astype("timedelta64[D]")
            - rng.integers(0, 86400, size).astype("timedelta64[s]")
        )
        return PopulationSlice(
            start=start,
            tenant=tenant,
            email=email,
            domain=domain,
            status=status,
            in_leak=in_leak,
            leaked_password=leaked,
            current_password=current,
            password_still_valid=valid,
            recovery_email=recovery,
            mfa=mfa,
            last_login=last_login,
        )

    @staticmethod
    def _passwords(
        rng: np.random.Generator, size: int, given: pa.Array, family: pa.Array
    ) -> pa.Array:
        """Passwords with a realistic heavy head (Zipf over common ones) and a long tail."""
        kind = rng.choice(5, size=size, p=(0.22, 0.30, 0.18, 0.22, 0.08))
        ranks = (rng.zipf(1.6, size) - 1) % len(_COMMON)
        common = _pick(_COMMON, ranks)
        word_digits = _join(
            _pick(_WORDS, rng.integers(0, len(_WORDS), size)),
            pa.array(rng.integers(0, 10000, size)).cast(pa.string()),
        )
        name_year = _join(given, pa.array(rng.integers(1950, 2010, size)).cast(pa.string()))
        family_cap = _join(
            pc.utf8_capitalize(family), pa.array(rng.integers(0, 1000, size)).cast(pa.string())
        )
        random = _join(_base36(rng.integers(36**7, 36**9, size)), "!")
        out = common
        for k, column in enumerate((word_digits, name_year, family_cap, random), start=1):
            out = pc.if_else(pa.array(kind == k), column, out)
        return out

    def head(self, count: int) -> PopulationSlice:
        """The first ``count`` subscribers: the same ones the blocks of :meth:`slices` hold.

        (A slice's draws depend on where it starts and how long it is, so
        ``slice(0, count)`` is another set of subscribers unless ``count`` ends a block.)
        """
        parts = [self.slice(a, b) for a, b in self.slices() if a < count]
        values = {}
        for f in fields(PopulationSlice):
            if f.name == "start":
                continue
            chunks = [getattr(part, f.name) for part in parts]
            if isinstance(chunks[0], np.ndarray):
                values[f.name] = np.concatenate(chunks)[:count]
            else:
                values[f.name] = pa.concat_arrays(chunks)[:count]
        return PopulationSlice(start=0, **values)

    def slices(self, size: int = 1_000_000) -> list[tuple[int, int]]:
        """Split ``0 .. n`` into ``(start, stop)`` blocks of at most ``size``."""
        return [(s, min(s + size, self.n)) for s in range(0, self.n, size)]

    def incident_time(self) -> datetime:
        """When the dump was taken (a week before :attr:`now`)."""
        return self.now - timedelta(days=7)
