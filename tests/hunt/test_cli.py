"""``credwatch hunt`` through the real CLI: JSON shape, blocklists, follow, errors, privacy."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.results import load_result
from credwatch.workspace import Workspace
from tests.conftest import require_program

CANARY = "canary.leaked.person@nifty.com"


def _log(path: Path, n_brute: int = 30) -> Path:
    lines = [
        f"Jun 24 10:00:{i % 60:02d} mx1 dovecot: imap-login: Disconnected (auth failed, 1 "
        f"attempts in 2 secs): "
        f"user=<{CANARY}>, method=PLAIN, rip=198.51.100.9, lip=10.0.0.1, TLS"
        for i in range(n_brute)
    ]
    lines += [
        "Jun 24 10:01:00 mx1 dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 "
        "secs): "
        "user=<w@nifty.com>, method=PLAIN, rip=2001:db8:7::9, lip=10.0.0.1, TLS",
    ] * 12
    lines += [
        "this is not a log line",
        "Jun 24 10:02:00 mx1 postfix/smtpd[1]: connect from unknown[192.0.2.1]",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _invoke(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_json_document(workspace: Workspace, tmp_path: Path) -> None:
    log = _log(tmp_path / "mail.log")
    alerts = tmp_path / "alerts.jsonl"
    code, out, err = _invoke(
        ["--workspace", str(workspace.root), "hunt", str(log), "--json", "--alerts", str(alerts)]
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["files"] == [{"path": str(log), "lines": 44, "parsed": 42, "unparsed": 2}]
    assert doc["events"] == 42
    rules = {(a["rule"], a["key"]) for a in doc["alerts"]}
    assert ("failures_per_ip", "198.51.100.9") in rules and (
        "failures_per_ip",
        "2001:db8:7::9",
    ) in rules
    assert len(alerts.read_text().splitlines()) == len(doc["alerts"])
    assert any("leak_stuffing" in s for s in doc["skipped"])  # no index in this workspace
    saved = load_result(workspace, "hunt")
    assert saved is not None and saved["document"]["events"] == 42
    for text in (out, err, alerts.read_text(), json.dumps(saved)):
        assert CANARY not in text


@pytest.mark.parametrize("fmt", ["plain", "nft", "fail2ban"])
def test_blocklists(workspace: Workspace, tmp_path: Path, fmt: str) -> None:
    log = _log(tmp_path / "mail.log")
    target = tmp_path / f"block.{fmt}"
    code, _, err = _invoke(
        [
            "--workspace",
            str(workspace.root),
            "hunt",
            str(log),
            "--blocklist",
            str(target),
            "--blocklist-format",
            fmt,
            "--jail",
            "dovecot",
        ]
    )
    assert code == 0, err
    text = target.read_text()
    if fmt == "plain":
        assert text.splitlines() == ["198.51.100.9", "2001:db8:7::9"]
    elif fmt == "fail2ban":
        assert text.splitlines() == [
            "fail2ban-client set dovecot banip 198.51.100.9",
            "fail2ban-client set dovecot banip 2001:db8:7::9",
        ]
    else:
        assert "type ipv4_addr" in text and "elements = { 198.51.100.9 }" in text
        assert "elements = { 2001:db8:7::9 }" in text
        nft = shutil.which("nft")
        if nft is None:
            require_program("nft")
        check = subprocess.run(
            [nft or "nft", "-c", "-f", str(target)], capture_output=True, text=True, check=False
        )
        if check.returncode != 0 and "Operation not permitted" in check.stderr:
            pytest.skip("nft -c needs CAP_NET_ADMIN here")
        assert check.returncode == 0, check.stderr


def test_bad_arguments_and_inputs(workspace: Workspace, tmp_path: Path) -> None:
    ws = ["--workspace", str(workspace.root)]
    assert _invoke([*ws, "hunt", str(tmp_path / "missing.log")])[0] == 3
    log = _log(tmp_path / "mail.log")
    assert _invoke([*ws, "hunt", str(log), "--format", "cisco"])[0] == 2
    assert _invoke([*ws, "hunt", str(log), "--blocklist-format", "iptables"])[0] == 2
    assert _invoke([*ws, "hunt", str(log), "--max-seconds", "1"])[0] == 2
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02" * 1000)
    code, out, _ = _invoke([*ws, "hunt", str(binary), str(log), "--json"])
    assert code == 0
    files = json.loads(out)["files"]
    assert files[0]["lines"] == 0 and "binary" in files[0]["error"]


def test_glob_and_table_output(workspace: Workspace, tmp_path: Path) -> None:
    _log(tmp_path / "a.log")
    _log(tmp_path / "b.log", n_brute=3)
    code, out, err = _invoke(["--workspace", str(workspace.root), "hunt", str(tmp_path / "*.log")])
    assert code == 0, err
    assert "failures_per_ip" in out and "a.log" in out and "b.log" in out
    assert CANARY not in out + err


def test_follow_with_rotation_stops_by_itself(workspace: Workspace, tmp_path: Path) -> None:
    log = tmp_path / "live.log"
    log.write_text("", encoding="utf-8")
    alerts = tmp_path / "alerts.jsonl"
    line = (
        "Jun 24 10:00:{s:02d} mx1 dovecot: imap-login: Disconnected (auth failed, 1 attempts in "
        "2 secs): "
        "user=<{u}>, method=PLAIN, rip=198.51.100.{ip}, lip=10.0.0.1, TLS\n"
    )

    def writer() -> None:
        time.sleep(0.3)
        with log.open("a", encoding="utf-8") as fh:
            for s in range(12):
                fh.write(line.format(s=s, u=CANARY, ip=9))
            fh.write(line.format(s=20, u="x@nifty.com", ip=9)[:40])  # a partial line stays pending
        time.sleep(0.5)
        log.rename(tmp_path / "live.log.1")  # logrotate: create a fresh file
        with log.open("w", encoding="utf-8") as fh:
            for s in range(12):
                fh.write(line.format(s=30 + s, u="y@nifty.com", ip=77))

    thread = threading.Thread(target=writer)
    thread.start()
    code, out, err = _invoke(
        [
            "--workspace",
            str(workspace.root),
            "hunt",
            str(log),
            "--follow",
            "--json",
            "--alerts",
            str(alerts),
            "--idle-seconds",
            "3",
            "--max-seconds",
            "20",
            "--poll-seconds",
            "0.1",
        ]
    )
    thread.join()
    assert code == 0, err
    doc = json.loads(out)
    flagged = {(a["rule"], a["key"]) for a in doc["alerts"]}
    assert ("failures_per_ip", "198.51.100.9") in flagged
    assert ("failures_per_ip", "198.51.100.77") in flagged
    assert doc["events"] == 24
    assert len(alerts.read_text().splitlines()) == len(doc["alerts"])
    assert CANARY not in out + err + alerts.read_text()
