"""Notifications: templates, .eml export, SMTP against a real aiosmtpd server."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.errors import UsageError
from credwatch.notify import EmlDirectory, SmtpSink, notify_plan, parse_hostport, render_text
from credwatch.plan import plan_remediation, write_plan
from credwatch.workspace import Workspace
from tests.plan.runs import configure, create_mailbox, store_toml, write_run

ADDRESSES: dict[str, str | None] = {
    "1": "canary1@nifty.com",
    "2": "flaky2@nifty.com",
    "3": None,
    "4": "perm4@biglobe.ne.jp",
    "5": "canary5@jcom.home.ne.jp",
}


@pytest.fixture
def plan_path(workspace: Workspace, tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = create_mailbox(url)
    with engine.begin() as conn:
        for account, address in ADDRESSES.items():
            conn.execute(
                sa.text("UPDATE mailbox SET username = :a WHERE id = :i"),
                {"a": address, "i": int(account)},
            )
        conn.execute(sa.text("DELETE FROM mailbox WHERE id = 7"))
    engine.dispose()
    configure(workspace, store_toml("mail", url))
    write_run(workspace, "run1", "mail", "sha256:" + "b" * 64)
    path = tmp_path / "fix.plan.json"
    write_plan(plan_remediation(workspace, "run1"), path)
    return path


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize(
    "actions",
    [["require_mfa", "revoke_sessions", "force_reset"], ["purge_credential"], ["lock", "isolate"]],
)
def test_every_action_renders_in_both_languages(lang: str, actions: list[str]) -> None:
    text = render_text(lang, tenant_name="BIGLOBE", actions=actions, findings=["pair_valid"])
    assert "BIGLOBE" in text.subject
    assert text.body.count("\n- " if lang == "en" else "\n・") >= len(actions)
    assert "{{" not in text.body and "\n\n\n" not in text.body


def test_unknown_language_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        render_text("fr", tenant_name="x", actions=[], findings=[])


@pytest.mark.parametrize("value", ["host", "host:", ":25", "host:99999", "host:x"])
def test_bad_smtp_address(value: str) -> None:
    with pytest.raises(UsageError):
        parse_hostport(value)


def test_eml_export(workspace: Workspace, plan_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = notify_plan(workspace, plan_path, EmlDirectory(out), lang="ja")
    by_account = {r.account: r.result for r in report.results}
    assert by_account == {
        "1": "written",
        "2": "written",
        "3": "no_address",
        "4": "written",
        "5": "written",
        "7": "not_found",
    }
    files = sorted(out.rglob("*.eml"))
    assert len(files) == 4
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] in ADDRESSES.values()
    assert "お知らせ" in str(message["Subject"])
    body = message.get_content()
    assert "CanaryPw" not in body and "パスワード" in body
    manifest = (out / "nifty" / "manifest.jsonl").read_text()
    assert "canary" not in manifest and "flaky" not in manifest
    assert "canary" not in json.dumps(report.to_json())
    assert out.stat().st_mode & 0o077 == 0 and files[0].stat().st_mode & 0o077 == 0


def test_sample_per_tenant(workspace: Workspace, plan_path: Path, tmp_path: Path) -> None:
    full = notify_plan(workspace, plan_path, EmlDirectory(tmp_path / "all"), lang="en")
    sample = notify_plan(
        workspace, plan_path, EmlDirectory(tmp_path / "one"), lang="en", limit_per_tenant=1
    )
    tenants = {r.tenant for r in full.results}
    assert len(sample.results) == len(tenants) < len(full.results)
    assert {r.tenant for r in sample.results} == tenants


class FlakyHandler:
    """Refuses flaky* once with a 451, perm* always with a 550."""

    def __init__(self) -> None:
        self.attempts: dict[str, int] = {}
        self.delivered: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.attempts[address] = self.attempts.get(address, 0) + 1
        if address.startswith("perm"):
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if address.startswith("flaky") and self.attempts[address] == 1:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.delivered.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, FlakyHandler]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = FlakyHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


@pytest.mark.network
def test_smtp_retries_transient_failures(
    workspace: Workspace, plan_path: Path, smtp_server
) -> None:
    port, handler = smtp_server
    sink = SmtpSink("127.0.0.1", port, attempts=3, backoff=0.01)
    report = notify_plan(workspace, plan_path, sink, lang="en")
    results = {r.account: r for r in report.results}
    assert results["1"].result == "sent" and results["1"].attempts == 1
    assert results["2"].result == "sent" and results["2"].attempts == 2
    assert results["4"].result == "failed" and results["4"].attempts == 1
    assert results["4"].detail == "550 5.1.1 <p***@biglobe.ne.jp>: mailbox unavailable"
    assert handler.attempts["flaky2@nifty.com"] == 2
    assert sorted(r[0][0] for r in handler.delivered) == [
        "canary1@nifty.com",
        "canary5@jcom.home.ne.jp",
        "flaky2@nifty.com",
    ]
    assert all(b"CanaryPw" not in content for _, content in handler.delivered)
    assert report.failed() == 1


@pytest.mark.network
def test_unreachable_server_fails_each_message_after_retries(
    workspace: Workspace, plan_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here any more
    sink = SmtpSink("127.0.0.1", port, attempts=2, backoff=0.0, timeout=2)
    report = notify_plan(workspace, plan_path, sink)
    sent = [r for r in report.results if r.result not in ("no_address", "not_found")]
    assert sent and all(r.result == "failed" and r.attempts == 2 for r in sent)


def test_cli_requires_exactly_one_destination(workspace: Workspace, plan_path: Path) -> None:
    result = CliRunner().invoke(app, ["--workspace", str(workspace.root), "notify", str(plan_path)])
    assert result.exit_code == 2


@pytest.mark.network
def test_cli_smtp_failure_exits_4(workspace: Workspace, plan_path: Path, smtp_server) -> None:
    port, _handler = smtp_server
    result = CliRunner().invoke(
        app,
        [
            "--workspace",
            str(workspace.root),
            "notify",
            str(plan_path),
            "--smtp",
            f"127.0.0.1:{port}",
            "--lang",
            "en",
            "--json",
        ],
    )
    assert result.exit_code == 4
    doc = json.loads(result.stdout)
    assert [m["result"] for m in doc["messages"] if m["account"] == "4"] == ["failed"]
    assert "could not be sent" in result.output
    assert not any(a in result.output for a in ("canary1@", "flaky2@", "perm4@"))
