"""``credwatch serve`` as a real process: workers, shared metrics, logs, hostile headers."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from credwatch.corpus import import_files
from credwatch.serve.metrics import FLUSH_SECONDS
from credwatch.workspace import Workspace
from tests.serve.conftest import AUTH, RunningServer, hibp_file, sha1_hex

pytestmark = [pytest.mark.network, pytest.mark.slow]

CANARY = "canary-server-9d2e"


@pytest.fixture
def ws(leak_ws: Workspace, tmp_path: Path) -> Workspace:
    copy = Workspace(root=tmp_path / "ws")
    shutil.copytree(leak_ws.root, copy.root)
    return copy


def test_two_workers_serve_range_and_share_metrics(
    ws: Workspace, start_server: Callable[..., RunningServer]
) -> None:
    server = start_server(ws, workers=2)
    h = sha1_hex("password")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        bodies = {client.get(f"/range/{h[:5]}").content for _ in range(40)}
        assert len(bodies) == 1
        assert f"{h[5:]}:".encode() in bodies.pop()
        for _ in range(5):
            check = client.post(
                "/v1/check", json={"email": f"{CANARY}@nifty.com", "password": CANARY}, headers=AUTH
            )
            assert check.status_code == 200
        # Requests answered by either worker are summed in one exposition; a worker folds
        # its tallies in within FLUSH_SECONDS of answering.
        expected = [
            'credwatch_requests_total{endpoint="range",status="200"} 40.0',
            'credwatch_requests_total{endpoint="check",status="200"} 5.0',
        ]
        deadline = time.monotonic() + 5
        metrics = client.get("/metrics").text
        while not all(line in metrics for line in expected) and time.monotonic() < deadline:
            time.sleep(FLUSH_SECONDS)
            metrics = client.get("/metrics").text
    assert all(line in metrics for line in expected), metrics
    output = server.stop()
    assert h[:5] not in output
    assert CANARY not in output
    assert "GET /range" not in output


def test_huge_headers_are_refused_and_the_server_survives(
    ws: Workspace, start_server: Callable[..., RunningServer]
) -> None:
    server = start_server(ws)
    request = b"GET /range/5BAA6 HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"A" * 2_000_000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        try:
            sock.sendall(request)
            answer = sock.recv(200)
        except OSError:
            answer = b""
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
    assert httpx.get(f"{server.url}/range/5BAA6", timeout=10).status_code == 200


def test_new_generation_is_picked_up_without_restart(
    ws: Workspace, tmp_path: Path, start_server: Callable[..., RunningServer]
) -> None:
    server = start_server(ws)
    h = sha1_hex("brand new")
    assert httpx.get(f"{server.url}/range/{h[:5]}").text == ""
    new = hibp_file(tmp_path / "n.txt", {"brand new": 3})
    import_files(ws.corpus_dir, [new], mode="sha1", index=None)
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline and not text:
        text = httpx.get(f"{server.url}/range/{h[:5]}").text
        time.sleep(0.3)
    assert text == f"{h[5:]}:3"
