"""Recognise and verify the password hashes mail platforms store.

Dovecot ``{SCHEME}`` prefixes (every scheme ``doveadm pw -l`` lists), crypt(3) ``$id$``
forms (yescrypt and friends where libxcrypt provides them), LDAP ``{SSHA}`` and
``{PBKDF2-*}`` forms, bcrypt, Argon2, PBKDF2 and raw hex digests.

- :func:`identify` names a stored hash's scheme (Dovecot spelling) with flags;
- :func:`verify` checks one password: Matched / NotMatched / Unsupported / Malformed;
- :func:`verify_many` checks many (stored, password, user) rows: unsalted digests in
  bulk in-process, slow schemes in batches on an :class:`~credwatch.execute.Executor`;
- :func:`census` counts schemes.

Nothing here raises on a bad stored hash, and no password or hash text ever appears in
a result, a reason or an exception message.
"""

from credwatch.hashes.bulk import RESULT_SCHEMA, verify_many, verify_rows
from credwatch.hashes.core import DOVECOT_SCHEMES, census, encode_password, identify, verify
from credwatch.hashes.interface import (
    OUTCOMES,
    HashScheme,
    Malformed,
    Matched,
    NotMatched,
    SchemeInfo,
    Unsupported,
    VerifyResult,
)

__all__ = [
    "DOVECOT_SCHEMES",
    "OUTCOMES",
    "RESULT_SCHEMA",
    "HashScheme",
    "Malformed",
    "Matched",
    "NotMatched",
    "SchemeInfo",
    "Unsupported",
    "VerifyResult",
    "census",
    "encode_password",
    "identify",
    "verify",
    "verify_many",
    "verify_rows",
]
