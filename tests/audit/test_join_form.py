"""The audit's join form of an address matches exactly what the normaliser would match."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from credwatch.audit.load import join_form_sql as _join_form_sql
from credwatch.normalize import InvalidAddressError, Normalizer, mask_email

ASCII_ADDRESSY = st.text(
    alphabet=st.sampled_from(list('abcXYZ019.-_+@ \t\r\n\x0b\x0c"()<>,;:[]\\\x00\x7f')),
    max_size=30,
)


_SPACE = st.text(alphabet=" \t\r\n\x0b\x0c", max_size=2)
LIKELY_VALID = st.builds(
    lambda a, local, domain, tld, b: f"{a}{local}@{domain}.{tld}{b}",
    _SPACE,
    st.text(alphabet='aB0._-+"', min_size=1, max_size=8),
    st.text(alphabet="aB0-.", min_size=1, max_size=8),
    st.sampled_from(["jp", "COM", "x", "co.jp", "xn--abc"]),
    _SPACE,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(ASCII_ADDRESSY, LIKELY_VALID), min_size=1, max_size=40))
def test_join_form_gives_the_same_matches_as_normalize(texts: list[str]) -> None:
    normalizer = Normalizer()
    con = duckdb.connect()
    con.register("t", pa.table({"email": pa.array(texts, pa.string())}))
    forms = [
        r[0] for r in con.execute(f"SELECT {_join_form_sql(normalizer, 'email')} FROM t").fetchall()
    ]
    con.close()
    for text, form in zip(texts, forms, strict=True):
        try:
            normalized = normalizer.normalize(text)
        except InvalidAddressError:
            # An invalid text's form must never be a normalised (index) address.
            assert form is None or normalizer.try_normalize(form) != form
        else:
            assert form == normalized
            assert mask_email(normalized).startswith(normalized[0])
