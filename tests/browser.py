"""A headless Chromium driven over the DevTools protocol on a pipe (no network, no extra package).

`load(path)` opens a local file, waits for its load event, and returns the console messages,
uncaught exceptions and log entries at error level, plus a PNG screenshot of the page.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def executable() -> str | None:
    """The Chromium on this machine, if any (`CHROMIUM` overrides)."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Page:
    errors: list[str]
    """Console errors, uncaught exceptions and error-level log entries."""
    screenshot: bytes
    title: str
    text: str
    """The page's visible text (document.body.innerText)."""


class _Pipe:
    def __init__(self, binary: str, profile: str) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def onto_3_and_4() -> None:  # Chromium reads commands on fd 3, writes replies on fd 4
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=onto_3_and_4,  # noqa: PLW1509 (the tests start no thread before this)
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while time.monotonic() < deadline:
            event = self._read()
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise TimeoutError(method)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(raw))

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):  # already gone
            self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def load(path: Path, *, width: int = 1280, height: int = 2000, timeout: float = 60) -> Page:
    """Open `path` in headless Chromium; its errors, a screenshot, its title and text."""
    return load_all([path], width=width, height=height, timeout=timeout)[0]


def load_all(
    paths: list[Path], *, width: int = 1280, height: int = 2000, timeout: float = 60
) -> list[Page]:
    """`load` for several files, in one browser (a fresh tab each)."""
    binary = executable()
    if binary is None:
        raise FileNotFoundError("chromium")
    out = []
    with tempfile.TemporaryDirectory() as profile:
        pipe = _Pipe(binary, profile)
        try:
            for path in paths:
                out.append(_page(pipe, path, width, height, timeout))
        finally:
            pipe.close()
    return out


def _page(pipe: _Pipe, path: Path, width: int, height: int, timeout: float) -> Page:
    target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        pipe.send(f"{domain}.enable", session=session)
    pipe.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    pipe.events.clear()
    pipe.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
    pipe.wait_for("Page.loadEventFired", timeout)

    def evaluate(expression: str) -> Any:
        found = pipe.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        return found["result"].get("value")

    title = evaluate("document.title")
    text = evaluate("document.body.innerText")
    shot = pipe.send("Page.captureScreenshot", {"format": "png"}, session)["data"]
    errors = _errors(pipe.events)
    pipe.send("Target.closeTarget", {"targetId": target})
    return Page(errors=errors, screenshot=base64.b64decode(shot), title=title, text=text)


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append("console: " + " ".join(str(a.get("value", a)) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            out.append("exception: " + str(params["exceptionDetails"].get("text")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
    return out


if __name__ == "__main__":  # python -m tests.browser REPORT.html SCREENSHOT.png
    import sys

    page = load(Path(sys.argv[1]))
    Path(sys.argv[2]).write_bytes(page.screenshot)
    print("\n".join(page.errors) or "no console error", file=sys.stderr)
