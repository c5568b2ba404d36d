"""Version semantics per ecosystem: tables and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credwatch.supply.versions import InvalidVersionError, ecosystem_family, scheme_for

# (lower, higher): lower sorts strictly before higher.
DEBIAN_ORDER = [
    ("1.0", "1.1"),
    ("1.0~rc1", "1.0"),  # tilde sorts before everything, even the end of the string
    ("1.0~~", "1.0~"),
    ("1.0~rc1-1", "1.0-1"),
    ("1.0", "1.0+b1"),  # binNMU after the version it rebuilds
    ("1.0-1", "1.0-1+deb12u1"),
    ("1.0-1+deb12u1", "1.0-2"),
    ("1.0-1ubuntu1", "1.0-1ubuntu1.1"),
    ("1.0-9", "1.0-10"),  # numeric parts compare as numbers
    ("9.9", "1:0.1"),  # any epoch beats no epoch
    ("1:2.3.16+dfsg1-3ubuntu2.3", "1:2.3.16+dfsg1-3ubuntu2.4"),
    ("3.3.0-1ubuntu0.4+esm2", "3.3.0-1ubuntu0.4+esm3"),
    ("1.3.6+dfsg.1-1ubuntu0.1~esm4", "1.3.6+dfsg.1-1ubuntu0.1"),
    ("1.2~beta+dfsg.1-0ubuntu1+esm4", "1.2+dfsg.1-0ubuntu1"),
    ("2.11.0-1ubuntu1.2+esm2", "2.11.0-1ubuntu1.2+esm3"),
    ("1.0a", "1.0b"),
    ("1.0", "1.0a"),
    ("1.0+a", "1.0.a"),  # '+' sorts before '.'
]
DEBIAN_EQUAL = [("1.0", "0:1.0"), ("1.0", "1.0-0"), ("1:2.0-1", "1:2.0-1")]

PEP440_ORDER = [
    ("1.0.dev1", "1.0a1"),
    ("1.0a1", "1.0b1"),
    ("1.0rc1", "1.0"),
    ("1.0", "1.0.post1"),
    ("1.4.5", "1.4.6"),
    ("1.9", "1.10"),
    ("1.0", "1!0.1"),
    ("2.30.0", "2.31.0"),
]
PEP440_EQUAL = [("1.0", "1.0.0"), ("1.0", "v1.0"), ("1.0RC1", "1.0rc1")]

SEMVER_ORDER = [
    ("1.0.0-alpha", "1.0.0-alpha.1"),
    ("1.0.0-alpha.1", "1.0.0-beta"),
    ("1.0.0-rc.1", "1.0.0"),
    ("1.9.0", "1.10.0"),
    ("1.0.0", "2.0.0"),
]


@pytest.mark.parametrize(("low", "high"), DEBIAN_ORDER)
def test_debian_order(low: str, high: str) -> None:
    scheme = scheme_for("Debian:12")
    assert scheme.compare(low, high) == -1
    assert scheme.compare(high, low) == 1
    assert scheme_for("Ubuntu:22.04:LTS").compare(low, high) == -1


@pytest.mark.parametrize(("a", "b"), DEBIAN_EQUAL)
def test_debian_equal(a: str, b: str) -> None:
    scheme = scheme_for("Debian")
    assert scheme.compare(a, b) == 0
    assert hash(scheme.parse(a)) == hash(scheme.parse(b))


@pytest.mark.parametrize(("low", "high"), PEP440_ORDER)
def test_pep440_order(low: str, high: str) -> None:
    assert scheme_for("PyPI").compare(low, high) == -1


@pytest.mark.parametrize(("a", "b"), PEP440_EQUAL)
def test_pep440_equal(a: str, b: str) -> None:
    assert scheme_for("PyPI").compare(a, b) == 0


@pytest.mark.parametrize(("low", "high"), SEMVER_ORDER)
@pytest.mark.parametrize("ecosystem", ["npm", "crates.io", "SEMVER"])
def test_semver_order(ecosystem: str, low: str, high: str) -> None:
    assert scheme_for(ecosystem).compare(low, high) == -1


def test_go_versions_drop_the_v() -> None:
    assert scheme_for("Go").compare("v1.2.3", "v1.10.0") == -1


@pytest.mark.parametrize(
    ("ecosystem", "text"),
    [("Debian", "not a version"), ("Debian", ""), ("Debian", "a1.0"), ("PyPI", "1.0-foo-bar")],
)
def test_invalid_versions_raise(ecosystem: str, text: str) -> None:
    with pytest.raises(InvalidVersionError):
        scheme_for(ecosystem).parse(text)
    # cached failures raise again
    with pytest.raises(InvalidVersionError):
        scheme_for(ecosystem).parse(text)


def test_unknown_family_has_no_scheme() -> None:
    with pytest.raises(KeyError):
        scheme_for("NoSuchEcosystem")
    assert ecosystem_family("Ubuntu:Pro:20.04:LTS") == "Ubuntu"


# -- properties ---------------------------------------------------------------------------

_alnum = st.text(alphabet="0123456789abcz.+~", min_size=0, max_size=5)
debian_versions = st.builds(
    lambda epoch, first, rest, rev: (
        (f"{epoch}:" if epoch is not None else "") + f"{first}{rest}" + (f"-{rev}" if rev else "")
    ),
    st.none() | st.integers(0, 3),
    st.integers(0, 20),
    _alnum,
    st.text(alphabet="0123456789abu.+~", min_size=0, max_size=4),
)
pep440_versions = st.builds(
    lambda parts, pre, post, dev: (
        ".".join(map(str, parts))
        + (f"{pre[0]}{pre[1]}" if pre else "")
        + (f".post{post}" if post is not None else "")
        + (f".dev{dev}" if dev is not None else "")
    ),
    st.lists(st.integers(0, 12), min_size=1, max_size=4),
    st.none() | st.tuples(st.sampled_from(["a", "b", "rc"]), st.integers(0, 3)),
    st.none() | st.integers(0, 3),
    st.none() | st.integers(0, 3),
)


def _valid(ecosystem: str, text: str) -> bool:
    try:
        scheme_for(ecosystem).parse(text)
    except InvalidVersionError:
        return False
    return True


@pytest.mark.parametrize(
    ("ecosystem", "strategy"), [("Debian", debian_versions), ("PyPI", pep440_versions)]
)
@given(data=st.data())
def test_comparison_is_a_total_order(
    ecosystem: str, strategy: st.SearchStrategy[str], data: st.DataObject
) -> None:
    a, b, c = (data.draw(strategy) for _ in range(3))
    if not all(_valid(ecosystem, v) for v in (a, b, c)):
        return
    s = scheme_for(ecosystem)
    # antisymmetry
    assert s.compare(a, b) == -s.compare(b, a)
    assert s.compare(a, a) == 0
    # transitivity
    if s.compare(a, b) <= 0 and s.compare(b, c) <= 0:
        assert s.compare(a, c) <= 0


@given(debian_versions)
def test_debian_tilde_sorts_first(version: str) -> None:
    if "~" in version or not _valid("Debian", version + "~x"):
        return
    # appending ~anything makes a version smaller; appending +/. anything makes it larger
    s = scheme_for("Debian")
    if "-" in version:
        return  # suffixes on a revision behave the same, keep the property simple
    assert s.compare(version + "~x", version) == -1
    assert s.compare(version, version + "+x") == -1
