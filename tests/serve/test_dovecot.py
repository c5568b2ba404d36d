"""End to end with a real Dovecot calling our auth-policy endpoint.

The test writes a private ``dovecot.conf`` (IMAP on a high port of 127.0.0.1, a
passwd-file passdb, base and state folders in a temporary directory), starts
``dovecot -F`` and ``credwatch serve``, and logs in with imaplib from two loopback
addresses: the flagged one (127.0.0.2) is refused although the password is right, the
clean one (127.0.0.1) logs in; a third (127.0.0.3) fails three times, Dovecot reports
each failure, hunt's online ``failures_per_ip`` rule fires and its right password is
refused from then on.
Skips locally without Dovecot, fails under CI=true.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from credwatch.workspace import Workspace
from tests.conftest import require_program
from tests.serve.conftest import AUTH, TOKEN, RunningServer, free_port

pytestmark = [pytest.mark.network, pytest.mark.external, pytest.mark.slow]

ATTRIBUTES = "login=%{requested_username} pwhash=%{hashed_password} remote=%{rip} protocol=%s"
USER = "taro@nifty.com"
PASSWORD = "correct-horse-7"  # the account's real password: logins must fail by policy only


def _config(root: Path, imap_port: int, policy_url: str) -> str:
    me = pwd.getpwuid(os.getuid())
    if os.getuid() == 0:
        mail_user, mail_group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        run_as = ""
    else:
        mail_user, mail_group = me.pw_name, grp.getgrgid(me.pw_gid).gr_name
        run_as = f"default_login_user = {me.pw_name}\ndefault_internal_user = {me.pw_name}\n"
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
{run_as}
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
auth_policy_server_url = {policy_url}
auth_policy_server_api_header = Authorization: Bearer {TOKEN}
auth_policy_hash_nonce = credwatch-test-nonce
auth_policy_request_attributes = {ATTRIBUTES}
"""


@pytest.fixture
def dovecot_root() -> Iterator[Path]:
    # Dovecot's unprivileged processes must traverse these folders: pytest's are 0700.
    root = Path(tempfile.mkdtemp(prefix="cw-dovecot-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dovecot exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("dovecot did not listen within 30 s")


def _login(port: int, source: str, password: str = PASSWORD) -> bool:
    class FromSource(imaplib.IMAP4):
        def _create_socket(self, timeout: float | None) -> socket.socket:
            return socket.create_connection(
                (self.host, self.port), timeout if timeout else 10, source_address=(source, 0)
            )

    client = FromSource("127.0.0.1", port, timeout=15)
    try:
        client.login(USER, password)
    except imaplib.IMAP4.error:
        return False
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
    return True


def test_dovecot_refuses_a_flagged_source_and_admits_a_clean_one(
    leak_ws: Workspace,
    tmp_path: Path,
    dovecot_root: Path,
    start_server: Callable[..., RunningServer],
) -> None:
    dovecot = require_program("dovecot")
    ws = Workspace(root=tmp_path / "ws")
    shutil.copytree(leak_ws.root, ws.root)
    ws.config_path.write_text(
        f'[serve]\ntoken = "{TOKEN}"\n[hunt.failures_per_ip]\nwindow = 600\nthreshold = 3\n',
        encoding="utf-8",
    )
    server = start_server(ws)
    for sub in ("run", "state", "home"):
        (dovecot_root / sub).mkdir()
    (dovecot_root / "home").chmod(0o777)
    (dovecot_root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n", encoding="utf-8")
    imap_port = free_port()
    conf = dovecot_root / "dovecot.conf"
    conf.write_text(_config(dovecot_root, imap_port, f"{server.url}/v1/policy"), encoding="utf-8")
    log = dovecot_root / "dovecot.log"
    proc = subprocess.Popen(
        [dovecot, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_port(imap_port, proc, log)
        flagged = httpx.post(
            f"{server.url}/v1/policy/flags",
            json={"kind": "ip", "key": "127.0.0.2", "ttl_seconds": 300},
            headers=AUTH,
            timeout=10,
        )
        assert flagged.status_code == 201
        assert _login(imap_port, "127.0.0.1"), log.read_text(errors="replace")[-2000:]
        assert not _login(imap_port, "127.0.0.2")
        assert _login(imap_port, "127.0.0.1")
        # Online detection: three failures reported by Dovecot flag 127.0.0.3 ...
        for _ in range(3):
            assert not _login(imap_port, "127.0.0.3", password="wrong")
        # ... so the right password from there is refused now.
        assert not _login(imap_port, "127.0.0.3")
        assert _login(imap_port, "127.0.0.1")
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    dovecot_log = log.read_text(errors="replace")
    assert "policy server refusal" in dovecot_log
    assert 'credwatch_policy_decisions_total{result="reject"}' in metrics
    assert 'credwatch_policy_decisions_total{result="allow"}' in metrics
    # Dovecot reported every attempt (command=report) besides asking (command=allow).
    assert 'credwatch_requests_total{endpoint="policy",status="200"}' in metrics
    assert "Policy server HTTP error" not in dovecot_log
    output = server.stop()
    assert PASSWORD not in output
    assert USER not in output
