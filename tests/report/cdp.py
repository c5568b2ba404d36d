"""A small Chrome DevTools Protocol driver for the report's browser test.

Starts the real headless Chromium with the network emulated offline, opens a file,
records every network request, console message and uncaught exception, evaluates a
script in the page and captures a full-page screenshot.  Every wait is bounded; the
browser is always closed (and killed if it does not exit).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

STARTUP_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0


@dataclass
class PageRun:
    """What happened while the page was open."""

    requests: list[str] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    evaluation: Any = None
    screenshot: bytes = b""

    @property
    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors, as text."""
        out = [f"console.{c['type']}: {c['text']}" for c in self.console if c["type"] == "error"]
        out += [f"exception: {e}" for e in self.exceptions]
        out += [
            f"log {e.get('source')}: {e.get('text')}"
            for e in self.log_entries
            if e.get("level") == "error"
        ]
        return out


class DevTools:
    """One CDP session on one page target (flattened sessions over the browser socket)."""

    def __init__(self, socket: ClientConnection, session: str) -> None:
        self._socket = socket
        self._session = session
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a command on the page session and return its result (events are kept)."""
        return _call(self._socket, self._ids, method, params, self._session, self.events)

    def wait_event(self, method: str, timeout: float = COMMAND_TIMEOUT) -> dict[str, Any]:
        """Wait for an event (also looking at those already received)."""
        for event in self.events:
            if event["method"] == method:
                return dict(event)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self._socket.recv(timeout=deadline - time.monotonic()))
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return dict(message)
        raise TimeoutError(f"no {method} within {timeout} s")

    def drain(self, quiet: float = 0.5) -> None:
        """Collect events until none arrives for ``quiet`` seconds."""
        while True:
            try:
                message = json.loads(self._socket.recv(timeout=quiet))
            except TimeoutError:
                return
            if "method" in message:
                self.events.append(message)


def _call(
    socket: ClientConnection,
    ids: itertools.count[int],
    method: str,
    params: dict[str, Any] | None,
    session: str | None,
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    message_id = next(ids)
    payload: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
    if session is not None:
        payload["sessionId"] = session
    socket.send(json.dumps(payload))
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while time.monotonic() < deadline:
        message = json.loads(socket.recv(timeout=deadline - time.monotonic()))
        if message.get("id") == message_id:
            if "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            result: dict[str, Any] = message.get("result", {})
            return result
        if "method" in message:
            events.append(message)
    raise TimeoutError(f"{method}: no answer within {COMMAND_TIMEOUT} s")


def _devtools_url(profile: Path, proc: subprocess.Popen[bytes]) -> str:
    """Chromium writes ``DevToolsActivePort`` (port, then path) into its profile."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited early with {proc.returncode}")
        if marker.exists():
            lines = marker.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def open_offline(
    chromium: str,
    page: Path,
    profile: Path,
    script: str,
    width: int = 1200,
    media: str | None = None,
) -> PageRun:
    """Open ``page`` in headless Chromium, offline; evaluate ``script``; screenshot.

    ``script`` is a JavaScript expression whose (JSON-serialisable) value is returned
    in :attr:`PageRun.evaluation`; ``media="print"`` emulates the print stylesheet.
    """
    profile.mkdir(parents=True, exist_ok=True)
    log = (profile / "chromium.log").open("wb")
    proc = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    run = PageRun()
    try:
        url = _devtools_url(profile, proc)
        with connect(url, max_size=None, open_timeout=STARTUP_TIMEOUT) as socket:
            ids = itertools.count(1)
            events: list[dict[str, Any]] = []
            target = _call(socket, ids, "Target.createTarget", {"url": "about:blank"}, None, events)
            attached = _call(
                socket,
                ids,
                "Target.attachToTarget",
                {"targetId": target["targetId"], "flatten": True},
                None,
                events,
            )
            tab = DevTools(socket, attached["sessionId"])
            for domain in ("Page", "Runtime", "Log", "Network"):
                tab.send(f"{domain}.enable")
            tab.send(
                "Network.emulateNetworkConditions",
                {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            )
            tab.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            )
            if media is not None:
                tab.send("Emulation.setEmulatedMedia", {"media": media})
            tab.send("Page.navigate", {"url": page.resolve().as_uri()})
            tab.wait_event("Page.loadEventFired")
            tab.drain()
            evaluated = tab.send("Runtime.evaluate", {"expression": script, "returnByValue": True})
            if "exceptionDetails" in evaluated:
                raise RuntimeError(f"check script failed: {evaluated['exceptionDetails']}")
            run.evaluation = evaluated["result"].get("value")
            metrics = tab.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = tab.send(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": min(int(size["height"]), 16000),
                        "scale": 1,
                    },
                },
            )
            run.screenshot = base64.b64decode(shot["data"])
            tab.drain(0.2)
            for event in tab.events + events:
                params = event.get("params", {})
                if event["method"] == "Network.requestWillBeSent":
                    run.requests.append(params["request"]["url"])
                elif event["method"] == "Runtime.consoleAPICalled":
                    text = " ".join(
                        str(a.get("value", a.get("description", ""))) for a in params["args"]
                    )
                    run.console.append({"type": params["type"], "text": text})
                elif event["method"] == "Runtime.exceptionThrown":
                    run.exceptions.append(str(params["exceptionDetails"].get("text")))
                elif event["method"] == "Log.entryAdded":
                    run.log_entries.append(params["entry"])
            # The browser may drop the socket while closing; it is killed below if needed.
            with contextlib.suppress(RuntimeError, TimeoutError, OSError):
                _call(socket, ids, "Browser.close", None, None, events)
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    return run


def main(argv: list[str]) -> int:
    """``python3 -m tests.report.cdp REPORT.html OUT.png [HEIGHT]``: a screenshot of the top.

    Used to refresh ``docs/report-screenshot.png`` from a demo report.
    """
    import shutil  # noqa: PLC0415 - only for this command
    import tempfile  # noqa: PLC0415

    from PIL import Image  # noqa: PLC0415 - matplotlib's dependency

    chromium = shutil.which("chromium")
    if chromium is None or len(argv) < 2:
        print("usage: python3 -m tests.report.cdp REPORT.html OUT.png [HEIGHT] (needs chromium)")
        return 2
    with tempfile.TemporaryDirectory() as profile:
        run = open_offline(chromium, Path(argv[0]), Path(profile), "document.title")
    shot = Path(argv[1])
    shot.write_bytes(run.screenshot)
    height = int(argv[2]) if len(argv) > 2 else 2000
    with Image.open(shot) as image:
        top = image.crop((0, 0, image.width, min(height, image.height)))
        top.save(shot, optimize=True)
    print(f"{shot}: {run.errors or 'no console errors'}; requests: {run.requests}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
