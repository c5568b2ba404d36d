"""Stream an account store through the audit in one pass, keeping only what is needed.

One DuckDB query (in the secret database, :func:`credwatch.audit.scratch.secret_database`)
runs over the connector's Arrow batches while the next batch is read: it normalises
and keys every address (``email_key``, the index's construction), marks the addresses
found in the index's ``exposures`` (a mark join whose hash table is built once over the
index), derives the domains, the first letter shown in masked addresses, the scheme key
of the stored hash and the row digest.  Each result batch is then split:

* the public columns of every account go to the public database (table ``accts``);
* the stored hash (and the address, for schemes that need the user name) of exposed
  accounts that will be verified stay in memory as *candidates*;
* exposed accounts whose slow hash is not verified this time are kept as ``skipped``
  (row number only).

So memory holds the index's keys, the candidates and one batch, never the store.
Non-ASCII addresses are normalised in Python before the query, so both paths key the
same text (:meth:`Normalizer.normalize`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from credwatch.accounts.census import SCHEME_KEY_SQL
from credwatch.accounts.digest import ROW_DIGEST_SQL, StoreDigest
from credwatch.accounts.interface import ACCOUNT_SCHEMA
from credwatch.audit.prefetch import Recording, prefetch
from credwatch.hashes import identify
from credwatch.keys import Keyer
from credwatch.normalize import Normalizer

__all__ = [
    "ACCTS_DDL",
    "CANDIDATE_SCHEMA",
    "PUBLIC_SCHEMA",
    "SKIPPED_SCHEMA",
    "LoadedStore",
    "join_form_sql",
    "load_store",
]

_WHITESPACE = " \t\r\n\x0b\x0c"

#: The public table of one row per account (no address, no hash).
ACCTS_DDL = (
    "CREATE TABLE accts (row_no BIGINT, id VARCHAR, tenant VARCHAR, status VARCHAR, "
    "raw_status VARCHAR, mfa BOOLEAN, exposed BOOLEAN, email_domain VARCHAR, "
    "mask_head VARCHAR, recovery_domain VARCHAR, scheme_id INTEGER)"
)
#: Its columns, as the streaming load produces them.
PUBLIC_SCHEMA = pa.schema(
    [
        ("row_no", pa.int64()),
        ("id", pa.string()),
        ("tenant", pa.string()),
        ("status", pa.string()),
        ("raw_status", pa.string()),
        ("mfa", pa.bool_()),
        ("exposed", pa.bool_()),
        ("email_domain", pa.string()),
        ("mask_head", pa.string()),
        ("recovery_domain", pa.string()),
        ("scheme_id", pa.int32()),
    ]
)

#: Exposed accounts whose stored hash is verified (in memory only).
CANDIDATE_SCHEMA = pa.schema(
    [
        ("row_no", pa.int64()),
        ("id", pa.string()),
        ("email_key", pa.binary()),
        ("stored", pa.string()),
        ("user", pa.string()),
        ("slow", pa.bool_()),
    ]
)
#: Exposed accounts with a slow hash that this run does not verify.
SKIPPED_SCHEMA = pa.schema([("row_no", pa.int64())])

#: The connector's columns plus the row number and the Python forms of non-ASCII addresses.
_STORE_SCHEMA = pa.schema(
    [
        *ACCOUNT_SCHEMA,
        pa.field("row_no", pa.int64()),
        pa.field("py_norm", pa.string()),
        pa.field("py_recovery", pa.string()),
    ]
)


def join_form_sql(normalizer: Normalizer, column: str) -> str:
    """The SQL form of an ASCII store address used for the join with the index.

    Without per-domain rules, ``Normalizer.normalize`` of an ASCII address is its
    trimmed, lowercased text when that text is a valid address, and invalid otherwise.
    An invalid text can never equal a normalised address of the index (ingest keys
    valid addresses only), so keying the trimmed, lowercased text gives exactly the same
    matches while skipping the validating regular expression, the costliest step over
    millions of accounts.  With domain rules the full :meth:`Normalizer.sql` runs.
    """
    if normalizer.domain_rules:
        return normalizer.sql(column)
    # Trimming with a character set is costly; most addresses need no trimming at all.
    edges = ", ".join(f"'{c}'" for c in _WHITESPACE)
    return (
        f"nullif(CASE WHEN {column}[1] IN ({edges}) OR {column}[-1] IN ({edges}) "
        f"THEN lower(trim({column}, '{_WHITESPACE}')) ELSE lower({column}) END, '')"
    )


@dataclass(slots=True)
class LoadedStore:
    """What one pass over the store leaves: digest, schemes, candidates.

    Attributes:
        digest: the store snapshot digest (:class:`StoreDigest`).
        rows: accounts read.
        schemes: one row per scheme number: ``scheme_id, key, scheme, weak, slow,
            supported, needs_user``.
        candidates: :data:`CANDIDATE_SCHEMA` rows (stored hashes: memory only).
        skipped: :data:`SKIPPED_SCHEMA` rows (exposed, slow hash, not verified).
    """

    digest: str
    rows: int
    schemes: pa.Table
    candidates: pa.Table = field(repr=False)
    skipped: pa.Table


class _Schemes:
    """Scheme keys seen so far, numbered, each identified once from one sample."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.facts: dict[str, list[Any]] = {
            k: [] for k in ("scheme", "weak", "slow", "supported", "needs_user")
        }
        self._value_set = pa.array([], pa.string())

    def number(self, skey: pa.Array, stored: pa.Array) -> pa.Array:
        """The scheme number of each row, identifying keys not seen before."""
        new = pc.filter(
            (unique := pc.unique(skey)), pc.invert(pc.is_in(unique, value_set=self._value_set))
        )
        for key in new.to_pylist():
            sample = stored[pc.index(skey, key).as_py()].as_py()
            info = identify(sample)
            self.keys.append(key)
            self.facts["scheme"].append(info.scheme)
            self.facts["weak"].append(bool(info.weak))
            self.facts["slow"].append(bool(info.slow))
            self.facts["supported"].append(bool(info.supported))
            self.facts["needs_user"].append(bool(info.needs_user))
        if len(new):
            self._value_set = pa.array(self.keys, pa.string())
        return pc.index_in(skey, value_set=self._value_set).cast(pa.int32())

    def flag(self, name: str, numbers: pa.Array) -> pa.Array:
        """A per-row boolean fact (``slow``, ``needs_user``) from scheme numbers."""
        return pa.array(self.facts[name], pa.bool_()).take(numbers)

    def table(self) -> pa.Table:
        """``scheme_id, key, scheme, weak, slow, supported, needs_user``."""
        return pa.table(
            {
                "scheme_id": pa.array(range(len(self.keys)), pa.int32()),
                "key": pa.array(self.keys, pa.string()),
                "scheme": pa.array(self.facts["scheme"], pa.string()),
                **{
                    k: pa.array(self.facts[k], pa.bool_())
                    for k in ("weak", "slow", "supported", "needs_user")
                },
            }
        )


def _python_forms(batch: pa.RecordBatch, row_no: int, normalizer: Normalizer) -> pa.RecordBatch:
    """Add ``row_no`` and the Python normaliser's forms of non-ASCII (recovery) addresses."""
    size = batch.num_rows
    extra: list[pa.Array] = [pa.array(np.arange(row_no, row_no + size, dtype=np.int64))]
    for column in ("email", "recovery_email"):
        values = batch.column(column)
        non_ascii = pc.invert(pc.fill_null(pc.string_is_ascii(values), True))
        if not pc.any(non_ascii).as_py():
            extra.append(pa.nulls(size, pa.string()))
            continue
        forms: list[str | None] = [None] * size
        for i in np.flatnonzero(non_ascii.to_numpy(zero_copy_only=False)):
            normalized = normalizer.try_normalize(values[int(i)].as_py())
            if column == "email":
                forms[i] = normalized
            else:  # the recovery address's domain
                forms[i] = normalized.rpartition("@")[2] if normalized is not None else "(invalid)"
        extra.append(pa.array(forms, pa.string()))
    return pa.RecordBatch.from_arrays([*batch.columns, *extra], schema=_STORE_SCHEMA)


def _query(normalizer: Normalizer) -> str:
    """The one streaming query over ``cw_store``."""
    norm = join_form_sql(normalizer, "email")
    key = Keyer.sql_email_key("$prefix", "n")
    last = "split_part(n, '@', -1)"
    r_last = "split_part(recovery_email, '@', -1)"
    edges = ", ".join(f"'{c}'" for c in _WHITESPACE)
    return f"""
        SELECT row_no, id, tenant, status,
               CASE WHEN status = 'unknown' THEN raw_status END AS raw_status, mfa,
               coalesce(k IN (SELECT email_key FROM idx.exposures), false) AS exposed,
               CASE WHEN contains(n, '@') THEN {last} ELSE '(invalid)' END AS email_domain,
               CASE WHEN n IS NULL OR NOT contains(n, '@') OR n[1] = '@' THEN NULL
                    ELSE left(n, 1) END AS mask_head,
               CASE WHEN recovery_email IS NULL THEN NULL
                    -- non-ASCII: the Python normaliser decided (NFKC may make the '@')
                    WHEN py_recovery IS NOT NULL THEN py_recovery
                    WHEN NOT contains(recovery_email, '@') THEN
                        CASE WHEN trim(recovery_email, '{_WHITESPACE}') = '' THEN NULL
                             ELSE '(invalid)' END
                    -- trimming with a character set is costly: only when an edge needs it
                    WHEN {r_last}[1] IN ({edges}) OR recovery_email[-1] IN ({edges})
                        THEN lower(trim({r_last}, '{_WHITESPACE}'))
                    ELSE lower({r_last})
               END AS recovery_domain,
               {SCHEME_KEY_SQL("password_hash")} AS skey,
               {ROW_DIGEST_SQL} AS row_hash,
               k AS email_key, password_hash, email
        FROM (
            SELECT *, CASE WHEN n IS NOT NULL THEN {key} END AS k
            FROM (
                SELECT *, CASE WHEN strlen(email) = length(email) THEN {norm}
                               ELSE py_norm END AS n
                FROM cw_store
            )
        )
    """


def load_store(
    sec: duckdb.DuckDBPyConnection,
    pub: duckdb.DuckDBPyConnection,
    batches: Iterator[pa.RecordBatch],
    *,
    keyer: Keyer,
    normalizer: Normalizer,
    verify_slow: bool,
    batch_size: int,
) -> LoadedStore:
    """Stream ``batches`` (:data:`ACCOUNT_SCHEMA`) once; fill ``accts`` in ``pub``.

    ``sec`` must have the index attached as ``idx``.

    Raises:
        ExternalServiceError, ConfigError, InputError: from the store connector.
    """

    def numbered() -> Iterator[pa.RecordBatch]:
        row_no = 0
        for batch in batches:
            yield _python_forms(batch, row_no, normalizer)
            row_no += batch.num_rows

    source = Recording(prefetch(numbered()))
    sec.register("cw_store", pa.RecordBatchReader.from_batches(_STORE_SCHEMA, source))
    digest = StoreDigest()
    schemes = _Schemes()
    candidates: list[pa.Table] = []
    skipped: list[pa.Table] = []

    def public_parts() -> Iterator[pa.RecordBatch]:
        try:
            reader = sec.sql(
                _query(normalizer), params={"prefix": keyer.email_prefix}
            ).to_arrow_reader(batch_size)
            for batch in reader:
                yield _split(batch, digest, schemes, candidates, skipped, verify_slow=verify_slow)
        except duckdb.Error:
            source.reraise()
            raise

    # The public database pulls the public columns while the secret one keys the next
    # batch: both insert and keying run on every core.  Any error inside the stream is
    # re-raised as itself, not as the public database's wrapped text.
    parts = Recording(public_parts(), (Exception,))
    pub.execute(ACCTS_DDL)
    pub.register("cw_public", pa.RecordBatchReader.from_batches(PUBLIC_SCHEMA, parts))
    try:
        pub.execute("INSERT INTO accts SELECT * FROM cw_public")
    except duckdb.Error:
        parts.reraise()
        raise
    finally:
        pub.unregister("cw_public")
        sec.unregister("cw_store")
    parts.reraise()
    return LoadedStore(
        digest=digest.hexdigest(),
        rows=digest.rows,
        schemes=schemes.table(),
        candidates=pa.concat_tables(candidates) if candidates else CANDIDATE_SCHEMA.empty_table(),
        skipped=pa.concat_tables(skipped) if skipped else SKIPPED_SCHEMA.empty_table(),
    )


def _split(
    batch: pa.RecordBatch,
    digest: StoreDigest,
    schemes: _Schemes,
    candidates: list[pa.Table],
    skipped: list[pa.Table],
    *,
    verify_slow: bool,
) -> pa.RecordBatch:
    """Split one result batch: return its public part, keep candidates' secrets in memory."""
    hashes = batch.column("row_hash").to_numpy()
    digest.add(
        len(hashes),
        int(np.bitwise_xor.reduce(hashes)) if len(hashes) else 0,
        int(hashes.sum(dtype=np.uint64)),
    )
    stored = batch.column("password_hash")
    numbers = schemes.number(batch.column("skey"), stored)
    public = pa.RecordBatch.from_arrays(
        [*(batch.column(name) for name in PUBLIC_SCHEMA.names[:-1]), numbers],
        schema=PUBLIC_SCHEMA,
    )

    has_hash = pc.fill_null(pc.not_equal(stored, ""), False)
    verifiable = pc.and_(batch.column("exposed"), has_hash)
    if not pc.any(verifiable).as_py():
        return public
    slow = schemes.flag("slow", numbers)
    wanted = verifiable if verify_slow else pc.and_(verifiable, pc.invert(slow))
    if not verify_slow:
        skip = pc.and_(verifiable, slow)
        skipped.append(pa.table([pc.filter(batch.column("row_no"), skip)], schema=SKIPPED_SCHEMA))
    if not pc.any(wanted).as_py():
        return public
    user = pc.if_else(schemes.flag("needs_user", numbers), batch.column("email"), None)
    candidates.append(
        pa.table(
            [pc.filter(batch.column(c), wanted) for c in ("row_no", "id", "email_key")]
            + [pc.filter(stored, wanted), pc.filter(user, wanted), pc.filter(slow, wanted)],
            schema=CANDIDATE_SCHEMA,
        )
    )
    return public
