"""Workspace creation, idempotence and key-file permission checks."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.errors import ConfigError, KeyPermissionError
from credwatch.workspace import Workspace

runner = CliRunner()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_private_keys_and_sample_config(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws")
    result = ws.init()
    assert ws.config_path in result.created
    for key in ("pepper", "vault.key", "vault.pub"):
        assert _mode(ws.keys_dir / key) == 0o600
    assert _mode(ws.keys_dir) == 0o700
    assert len(ws.pepper()) == 32
    assert "[stores.mail]" in ws.config_path.read_text()


def test_second_init_changes_nothing(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws")
    ws.init()
    before = {p: p.read_bytes() for p in ws.keys_dir.iterdir()}
    assert ws.init().created == ()
    assert {p: p.read_bytes() for p in ws.keys_dir.iterdir()} == before


@pytest.mark.parametrize("key", ["pepper", "vault.key", "vault.pub"])
def test_group_readable_key_is_refused(workspace: Workspace, key: str) -> None:
    (workspace.keys_dir / key).chmod(0o640)
    with pytest.raises(KeyPermissionError, match="accessible by group or others"):
        workspace.require()


def test_cli_refuses_exposed_pepper_with_exit_2(workspace: Workspace) -> None:
    workspace.pepper_path.chmod(0o644)
    result = runner.invoke(app, ["--workspace", str(workspace.root), "init"])
    assert result.exit_code == 2
    assert "accessible by group or others" in result.output


def test_uninitialised_workspace_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no credwatch workspace"):
        Workspace(root=tmp_path / "none").require()


def test_workspace_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDWATCH_HOME", str(tmp_path / "envws"))
    result = runner.invoke(app, ["init", "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "envws" / "keys" / "pepper").exists()


def test_moved_private_key_is_found_through_env(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = tmp_path / "offhost.key"
    (workspace.keys_dir / "vault.key").rename(moved)
    with pytest.raises(ConfigError, match="vault private key"):
        workspace.vault_private_key()
    monkeypatch.setenv("CREDWATCH_VAULT_KEY", str(moved))
    assert Workspace.resolve(workspace.root).vault_private_key() is not None


def test_unknown_config_key_is_refused(workspace: Workspace) -> None:
    workspace.config_path.write_text('afected_domains = ["nifty.com"]\n')
    with pytest.raises(ConfigError, match="unknown top-level keys: afected_domains"):
        workspace.config()
