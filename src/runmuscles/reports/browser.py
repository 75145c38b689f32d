"""Headless Chromium over the DevTools protocol, through a pipe (no extra packages).

Used to export figures as PNG and, in the tests, to open reports as a user's browser
does: load a page, collect console errors and network requests, evaluate JavaScript and
take screenshots. The browser is started with ``--remote-debugging-pipe``: commands are
JSON messages ended by a NUL byte, written to its file descriptor 3 and read from 4.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import RunmusclesError

__all__ = ["BrowserError", "HeadlessBrowser", "find_chromium"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


class BrowserError(RunmusclesError):
    """Chromium is absent, would not start, or did not answer."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``RUNMUSCLES_CHROMIUM`` first), or ``None``."""
    env = os.environ.get("RUNMUSCLES_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in _CANDIDATES:
        hit = shutil.which(name)
        if hit:
            return hit
    return None


class HeadlessBrowser:
    """One headless Chromium with one page; use as a context manager.

    Parameters
    ----------
    executable
        Browser to start (default: :func:`find_chromium`).
    width, height
        Viewport in CSS pixels.
    timeout_s
        Longest wait for any one answer.

    Attributes
    ----------
    console_errors
        Console messages of level error and uncaught exceptions, in order.
    requests
        URLs of every request the page made.
    """

    def __init__(
        self, executable: str | None = None, *, width: int = 1280, height: int = 900, timeout_s: float = 30.0
    ) -> None:
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError(
                "no Chromium found (install the 'chromium' package or set RUNMUSCLES_CHROMIUM)"
            )
        self.width, self.height, self.timeout_s = width, height, timeout_s
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self._buf = b""
        self._next_id = 0
        self._events: list[dict] = []
        self._session: str | None = None
        self._proc: subprocess.Popen | None = None

    # -- process -----------------------------------------------------------------------
    def __enter__(self) -> HeadlessBrowser:
        self._profile = tempfile.mkdtemp(prefix="runmuscles-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def _child_fds() -> None:  # runs in the child before exec: put the pipes on fds 3 and 4
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [
            self.executable,
            *FLAGS,
            f"--user-data-dir={self._profile}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        try:
            self._proc = subprocess.Popen(
                args,
                preexec_fn=_child_fds,  # noqa: PLW1509 - needed to place the pipe fds
                close_fds=False,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise BrowserError(f"{self.executable}: cannot start ({exc})") from None
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
            self._session = self.call(
                "Target.attachToTarget", {"targetId": target, "flatten": True}, session=False
            )["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable")
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            with contextlib.suppress(BrowserError, OSError):
                self.call("Browser.close", session=False, timeout_s=3.0)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
            self._proc = None
        for fd in ("_to_browser", "_from_browser"):
            with contextlib.suppress(OSError, AttributeError):
                os.close(getattr(self, fd))
        shutil.rmtree(getattr(self, "_profile", ""), ignore_errors=True)

    # -- protocol ----------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the connection (did it crash?)")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        msg = json.loads(raw)
        if "method" in msg:
            self._on_event(msg)
        return msg

    def _on_event(self, msg: dict) -> None:
        m, p = msg["method"], msg.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.console_errors.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            )
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.console_errors.append(
                d.get("exception", {}).get("description") or d.get("text", "exception")
            )
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            self.console_errors.append(p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
        elif m == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        self._events.append(msg)

    def call(
        self, method: str, params: dict | None = None, *, session: bool = True, timeout_s: float | None = None
    ) -> dict:
        """Send one command and return its result."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self._session:
            msg["sessionId"] = self._session
        try:
            os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        except OSError as exc:
            raise BrowserError(f"Chromium is not running ({exc})") from None
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            got = self._read_message(deadline)
            if got.get("id") == self._next_id:
                if "error" in got:
                    raise BrowserError(f"{method}: {got['error'].get('message')}")
                return got.get("result", {})

    def wait_for_event(self, method: str, timeout_s: float | None = None) -> dict:
        """Wait for (or find already received) an event."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            for i, e in enumerate(self._events):
                if e["method"] == method:
                    return self._events.pop(i)
            self._read_message(deadline)

    # -- page --------------------------------------------------------------------------
    def open(self, url_or_path: str | Path) -> None:
        """Load a page (a file path or URL) and wait for its load event."""
        url = (
            Path(url_or_path).resolve().as_uri()
            if not str(url_or_path).startswith(("file:", "http", "about:", "data:"))
            else str(url_or_path)
        )
        self._events = [e for e in self._events if e["method"] != "Page.loadEventFired"]
        got = self.call("Page.navigate", {"url": url})
        if got.get("errorText"):
            raise BrowserError(f"{url}: {got['errorText']}")
        self.wait_for_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """Value of a JavaScript expression in the page (JSON-serialisable)."""
        got = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in got:
            raise BrowserError(f"JavaScript error: {got['exceptionDetails'].get('text')}")
        return got["result"].get("value")

    def screenshot(
        self,
        path: str | Path,
        *,
        selector: str | None = None,
        full_page: bool = False,
        scale: float = 1.0,
    ) -> Path:
        """PNG of the viewport, the whole page, or one element (CSS ``selector``)."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        if selector is not None:
            box = self.evaluate(
                "(() => { const e = document.querySelector("
                + json.dumps(selector)
                + "); if (!e) return null;"
                " e.scrollIntoView(); const r = e.getBoundingClientRect();"
                " return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; })()"
            )
            if not box:
                raise BrowserError(f"no element matches {selector!r}")
            params["clip"] = {"x": box[0], "y": box[1], "width": box[2], "height": box[3], "scale": scale}
        elif full_page:
            size = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": scale}
        else:
            view = self.evaluate("[window.scrollX, window.scrollY, window.innerWidth, window.innerHeight]")
            params["clip"] = {"x": view[0], "y": view[1], "width": view[2], "height": view[3], "scale": scale}
        data = self.call("Page.captureScreenshot", params)["data"]
        p = Path(path)
        p.write_bytes(base64.b64decode(data))
        return p
