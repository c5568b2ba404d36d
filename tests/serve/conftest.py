"""Factories for the serve tests: HIBP-format files, workspaces with a corpus, apps."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from credwatch.corpus import import_files
from credwatch.index import ingest_files
from credwatch.serve import build_deps, create_server_app, refresh_index_snapshot
from credwatch.workspace import Workspace

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORDS = {"password": 3861493, "123456": 37359195, "hunter2": 2, "correct horse": 1}


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest().upper()


def write_lines(path: Path, lines: Iterable[str], *, ending: str = "\r\n") -> Path:
    path.write_bytes(ending.join(lines).encode())
    return path


def hibp_file(path: Path, counts: dict[str, int] | None = None) -> Path:
    counts = counts if counts is not None else PASSWORDS
    return write_lines(path, [f"{sha1_hex(p)}:{c}" for p, c in counts.items()])


@pytest.fixture
def serve_ws(workspace: Workspace) -> Workspace:
    """A workspace with a bearer token configured."""
    workspace.config_path.write_text(f'[serve]\ntoken = "{TOKEN}"\n', encoding="utf-8")
    return workspace


@pytest.fixture(scope="session")
def leak_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace with an exposure index (a real ingest) and a corpus with its snapshot.

    Shared by the session: tests must not change it (copy it, or build their own).
    """
    tmp_path = tmp_path_factory.mktemp("leak")
    serve_ws = Workspace(root=tmp_path / "ws")
    serve_ws.init()
    serve_ws.config_path.write_text(f'[serve]\ntoken = "{TOKEN}"\n', encoding="utf-8")
    combo = tmp_path / "dump.txt"
    combo.write_text(
        "taro@nifty.com:hunter2\nhanako@biglobe.ne.jp:password\njiro@nifty.com:password\n",
        encoding="utf-8",
    )
    ingest_files(serve_ws, [combo])
    import_files(serve_ws.corpus_dir, [hibp_file(tmp_path / "hibp.txt")], mode="sha1", index=None)
    refresh_index_snapshot(serve_ws)
    return serve_ws


class AppClient:
    """A synchronous client on our ASGI app (httpx's ASGITransport, in process)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, url, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@pytest.fixture
def make_client() -> Callable[..., AppClient]:
    """Build a client on the app of a workspace (fast range path on or off)."""

    def make(ws: Workspace, *, fast_range: bool = True) -> AppClient:
        return AppClient(create_server_app(build_deps(ws), fast_range=fast_range))

    return make


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningServer:
    """A ``credwatch serve`` process on 127.0.0.1 (output captured to a file)."""

    def __init__(self, ws: Workspace, workers: int, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = log.open("wb")
        env = {**os.environ, "CREDWATCH_HOME": str(ws.root)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from credwatch.cli.main import run; run()",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("server did not start within 60 s")

    def stop(self) -> str:
        """Stop the whole process group; return everything it printed."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._out.close()
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start ``credwatch serve`` processes; all are stopped at the end of the test."""
    servers: list[RunningServer] = []

    def start(ws: Workspace, workers: int = 1) -> RunningServer:
        server = RunningServer(ws, workers, tmp_path / f"server-{len(servers)}.log")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
