"""A real third-party client against our server: the ``hibp`` npm package with a base URL.

The package is installed with npm into a cache folder on first use (the npm registry is
the only network access); the test skips locally when node/npm are missing or the install
fails, and fails under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from credwatch.corpus import import_files
from credwatch.workspace import Workspace
from tests.conftest import require_program, unavailable
from tests.serve.conftest import PASSWORDS, RunningServer, sha1_hex, write_lines

pytestmark = [pytest.mark.network, pytest.mark.external, pytest.mark.slow]

HIBP_VERSION = "15.2.1"
NTLM_PASSWORD = "8846F7EAEE8FB117AD06BDD830B7586C"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "credwatch-tests"

SCRIPT = """
import { pwnedPassword, pwnedPasswordRange } from "hibp";
const [baseUrl, prefix, ntlmPrefix] = process.argv.slice(2);
const out = {
  range: await pwnedPasswordRange(prefix, { baseUrl }),
  padded: await pwnedPasswordRange(prefix, { baseUrl, addPadding: true }),
  ntlm: await pwnedPasswordRange(ntlmPrefix, { baseUrl, mode: "ntlm" }),
  password: await pwnedPassword("password", { baseUrl }),
  unknown: await pwnedPassword("not in the corpus 4b1d", { baseUrl }),
};
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="session")
def hibp_package() -> Path:
    node = require_program("node")
    npm = require_program("npm")
    folder = CACHE / f"hibp-{HIBP_VERSION}"
    if not (folder / "node_modules" / "hibp" / "package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                [
                    npm,
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(folder),
                    f"hibp@{HIBP_VERSION}",
                ],
                check=True,
                capture_output=True,
                timeout=180,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            unavailable(f"npm could not install hibp@{HIBP_VERSION}: {type(exc).__name__}")
    assert node
    return folder


def test_hibp_npm_client_reads_our_range_api(
    hibp_package: Path,
    serve_ws: Workspace,
    tmp_path: Path,
    start_server: Callable[..., RunningServer],
) -> None:
    files = [write_lines(tmp_path / "a.txt", [f"{sha1_hex(p)}:{c}" for p, c in PASSWORDS.items()])]
    import_files(serve_ws.corpus_dir, files, mode="sha1", index=None)
    ntlm = write_lines(tmp_path / "n.txt", [f"{NTLM_PASSWORD}:9"])
    import_files(serve_ws.corpus_dir, [ntlm], mode="ntlm", index=None)
    server = start_server(serve_ws)
    script = hibp_package / "check.mjs"
    script.write_text(SCRIPT, encoding="utf-8")
    h = sha1_hex("password")
    result = subprocess.run(
        ["node", str(script), server.url, h[:5].lower(), NTLM_PASSWORD[:5]],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=hibp_package,
    )
    out = json.loads(result.stdout)
    assert out["range"] == {h[5:]: PASSWORDS["password"]}
    assert out["password"] == PASSWORDS["password"]
    assert out["unknown"] == 0
    assert out["ntlm"] == {NTLM_PASSWORD[5:]: 9}
    # The client keeps padding rows (count 0) apart from nothing: the real row is intact.
    assert out["padded"][h[5:]] == PASSWORDS["password"]
    assert len(out["padded"]) >= 1000
    assert all(v == 0 for k, v in out["padded"].items() if k != h[5:])
