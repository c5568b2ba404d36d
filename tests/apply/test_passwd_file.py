"""The passwd-file actuator: field edits, atomic rewrite, mode/owner kept, recovery."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credwatch.accounts.config import parse_store_config
from credwatch.apply import PURGED_HASH, parse_file_specs
from credwatch.apply.interface import Outcome, WorkItem
from credwatch.apply.journal import PlanHistory
from credwatch.apply.passwd_file import PasswdFileActuator, apply_to_line
from credwatch.apply.specs import DEFAULT_FILE_SPECS
from credwatch.errors import ConfigError
from credwatch.keys import Keyer
from credwatch.plan import keyed_id

KEYER = Keyer(bytes(range(32)))
USERS = (
    "# mail users\n"
    "taro@nifty.com:{SHA512-CRYPT}$6$salt$hash:1000:1000::/home/taro::userdb_quota_rule=*:storage=1G\n"
    "\n"
    "hanako@biglobe.ne.jp:{PLAIN}CanaryPw:1001:1001:Hanako:/home/hanako:/bin/false:nologin=n\n"
    "jiro@cpi.ad.jp:$2y$05$abcdefghijklmnopqrstuu\n"
)


@pytest.mark.parametrize(
    ("line", "action", "expected"),
    [
        (
            "a@x.jp:{PLAIN}pw:1:1::/h::",
            "force_reset",
            "a@x.jp:{PLAIN}!pw:1:1::/h::nologin=y reason=password-reset-required",
        ),
        (
            "a@x.jp:{PLAIN}!pw:1:1::/h::nologin=y reason=password-reset-required",
            "force_reset",
            "a@x.jp:{PLAIN}!pw:1:1::/h::nologin=y reason=password-reset-required",
        ),
        ("a@x.jp:$2y$05$abc", "lock", "a@x.jp:$2y$05$abc::::::nologin=y reason=account-locked"),
        (
            "a@x.jp:x:1:1::/h::nologin=n foo",
            "lock",
            "a@x.jp:x:1:1::/h::nologin=y foo reason=account-locked",
        ),
        ("a@x.jp:{SHA}abc:1:1::/h::", "purge_credential", f"a@x.jp:{PURGED_HASH}:1:1::/h::"),
    ],
)
def test_apply_to_line(line: str, action: str, expected: str) -> None:
    assert apply_to_line(line, DEFAULT_FILE_SPECS[action]) == expected


@given(
    user=st.from_regex(r"[a-z0-9.]{1,10}@[a-z]{1,8}\.jp", fullmatch=True),
    password=st.text(alphabet=st.characters(blacklist_characters=":\n\r"), max_size=20),
    extra=st.lists(st.from_regex(r"[a-z_]{1,8}=[a-z0-9]{0,5}", fullmatch=True), max_size=3),
    action=st.sampled_from(sorted(DEFAULT_FILE_SPECS)),
)
def test_actions_are_idempotent_and_keep_the_user_and_fields(user, password, extra, action) -> None:
    line = f"{user}:{password}:1:1::/home::{' '.join(extra)}"
    once = apply_to_line(line, DEFAULT_FILE_SPECS[action])
    assert apply_to_line(once, DEFAULT_FILE_SPECS[action]) == once
    parts = once.split(":", 7)
    assert parts[0] == user and parts[2:7] == ["1", "1", "", "/home", ""]
    kept = {t.split("=")[0] for t in extra} - set(DEFAULT_FILE_SPECS[action].fields)
    assert kept <= {t.split("=")[0] for t in parts[7].split()}


def _actuator(path: Path, actions: dict[str, Any] | None = None) -> PasswdFileActuator:
    cfg = parse_store_config("dove", {"kind": "passwd-file", "path": str(path)})
    return PasswdFileActuator(cfg, parse_file_specs("dove", actions or {}), KEYER)


def test_rewrite_is_atomic_and_keeps_mode_and_owner(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(USERS)
    path.chmod(0o640)
    before = path.stat()
    actuator = _actuator(path)
    actuator.validate(["force_reset", "purge_credential"])
    taro, hanako, ghost = (
        keyed_id(KEYER, u) for u in ("taro@nifty.com", "hanako@biglobe.ne.jp", "x@y.jp")
    )
    items: list[WorkItem] = [(taro, "force_reset"), (hanako, "purge_credential"), (ghost, "lock")]
    assert [o.result for o in actuator.preview(items)] == ["applied", "applied", "not_found"]
    assert path.read_text() == USERS
    intents: list[dict[str, Any]] = []
    batches: list[list[Outcome]] = []
    actuator.execute(items, "sha256:p", batches.append, intents.append)
    text = path.read_text()
    assert (
        "taro@nifty.com:{SHA512-CRYPT}!$6$salt$hash:1000:1000::/home/taro::"
        "userdb_quota_rule=*:storage=1G nologin=y reason=password-reset-required\n" in text
    )
    assert (
        f"hanako@biglobe.ne.jp:{PURGED_HASH}:1001:1001:Hanako:/home/hanako:/bin/false:nologin=n\n"
        in text
    )
    assert (
        text.startswith("# mail users\n")
        and "\n\n" in text
        and text.endswith("abcdefghijklmnopqrstuu\n")
    )
    after = path.stat()
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
    )
    assert after.st_ino != before.st_ino  # replaced by rename, never rewritten in place
    assert [f.name for f in tmp_path.iterdir()] == ["users"]  # no temporary file left
    assert len(intents) == 1 and intents[0]["applied"] == [
        [taro, "force_reset"],
        [hanako, "purge_credential"],
    ]
    assert "taro" not in str(intents) and "CanaryPw" not in str(intents)
    assert [o.result for o in batches[0]] == ["applied", "applied", "not_found"]
    assert [o.result for o in actuator.preview(items[:2])] == ["already", "already"]


def test_recovered_after_a_crash_between_rename_and_journal(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(USERS)
    actuator = _actuator(path)
    taro = keyed_id(KEYER, "taro@nifty.com")
    intents: list[dict[str, Any]] = []
    actuator.execute([(taro, "lock")], "sha256:p", lambda _: None, intents.append)
    history = PlanHistory(begun=True, intents=intents)  # the action records never came
    assert actuator.recovered("sha256:p", history) == [
        Outcome(taro, "lock", "applied", recovered=True)
    ]
    history.done[(taro, "lock")] = "applied"
    assert actuator.recovered("sha256:p", history) == []


def test_unconfigured_action_and_bad_fields(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(USERS)
    with pytest.raises(ConfigError, match="cannot revoke_sessions by default"):
        _actuator(path).validate(["revoke_sessions"])
    with pytest.raises(ConfigError, match="without spaces"):
        parse_file_specs("dove", {"lock": {"fields": {"reason": "two words"}}})
    with pytest.raises(ConfigError, match="isolate is not available"):
        parse_file_specs("dove", {"isolate": {"fields": {"x": "y"}}})
    with pytest.raises(ConfigError, match="keep, lock or purge"):
        parse_file_specs("dove", {"lock": {"hash": "burn"}})
    custom = _actuator(path, {"revoke_sessions": {"fields": {"kick": "y"}}})
    custom.validate(["revoke_sessions"])
    with pytest.raises(ConfigError, match="missing"):
        _actuator(tmp_path / "nope").validate(["lock"])


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_owner_is_kept_when_running_as_root(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(USERS)
    os.chown(path, 8, 12)  # mail:mail on Debian
    _actuator(path).execute([(keyed_id(KEYER, "jiro@cpi.ad.jp"), "lock")], "p", lambda _: None)
    assert (path.stat().st_uid, path.stat().st_gid) == (8, 12)
