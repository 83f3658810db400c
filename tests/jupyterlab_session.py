"""A JupyterLab server and a headless Chromium for browser tests, both stopped without leftovers.

The server runs on 127.0.0.1 on a free port without a token, with news and update checks off and
every Jupyter config, data, runtime, settings and workspace folder in a temporary directory, so a
user's own configuration is neither read nor written. Chromium is the system browser (Debian's
``chromium``), driven by Playwright; no browser is ever downloaded.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from conftest import child_environment

# Chromium flags for a headless run that talks to nothing but the local server.
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
]
# Plugins that would reach the network or pop up over the notebook.
DISABLED_PLUGINS = [
    "@jupyterlab/apputils-extension:announcements",
]


def chromium_path() -> str | None:
    """The system Chromium, or None when it is not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def require_chromium() -> str:
    """The system Chromium, with Playwright importable; when either is missing, skip, or fail in CI.

    A developer's machine may lack them (the test skips); CI (``CI`` set) must run the browser tests,
    so there a missing browser fails: `make test` installs it with `make browser-deps`.
    """
    import pytest

    def missing(reason: str) -> None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the browser tests: see `make browser-deps`)")
        pytest.skip(f"{reason}; `make browser-deps` installs it")

    path = chromium_path()
    if path is None:
        missing("no system Chromium: `command -v chromium` finds nothing")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[browser]')")
    return str(path)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True while a process with this id exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with suppress(OSError):
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def wait_for(condition: Any, *, timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``condition()`` until it returns a truthy value; raise TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class JupyterLab:
    """One JupyterLab server process (and its kernels) under a temporary, isolated Jupyter home.

    Args:
        root_dir: the folder the server serves (the notebooks under test).
        home: an empty folder for the server's config, data, runtime, settings and workspaces.
        env: extra environment variables for the server, and so for its kernels.
    """

    def __init__(self, root_dir: Path, home: Path, env: dict[str, str] | None = None) -> None:
        self.root_dir = root_dir
        self.home = home
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = home / "jupyterlab.log"
        self.kernel_pids: set[int] = set()
        self._cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self._cookies))

    def _environment(self) -> dict[str, str]:
        dirs = {
            "JUPYTER_CONFIG_DIR": self.home / "config",
            "JUPYTER_DATA_DIR": self.home / "data",
            "JUPYTER_RUNTIME_DIR": self.home / "runtime",
            "JUPYTERLAB_SETTINGS_DIR": self.home / "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": self.home / "lab-workspaces",
            "IPYTHONDIR": self.home / "ipython",
            "MPLCONFIGDIR": self.home / "matplotlib",
        }
        for folder in dirs.values():
            folder.mkdir(parents=True, exist_ok=True)
        # Config files in the private config dir: no news feed, no update check, no PyPI extension
        # manager, the announcements plugin off (it would ask about news in a toast).
        server_config = {
            "LabApp": {
                "news_url": None,
                "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
                "extension_manager": "readonly",
            },
        }
        (dirs["JUPYTER_CONFIG_DIR"] / "jupyter_server_config.json").write_text(json.dumps(server_config, indent=1))
        labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
        labconfig.mkdir(exist_ok=True)
        page_config = {"disabledExtensions": dict.fromkeys(DISABLED_PLUGINS, True)}
        (labconfig / "page_config.json").write_text(json.dumps(page_config, indent=1))
        # As a user's shell has it: no pytest variable (ultralytics' test mode), no Jupyter setting of theirs.
        env = {key: value for key, value in child_environment().items() if not key.startswith(("JUPYTER", "JPY_"))}
        env.update({key: str(value) for key, value in dirs.items()})
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 90) -> None:
        """Start the server and wait until its REST API answers."""
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.allow_root=True",  # CI runs as root
            "--ServerApp.terminals_enabled=False",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        ]
        self.home.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=self.root_dir,
            env=self._environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: one signal reaches the server and its kernels
        )
        log.close()

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                return bool(self.api("GET", "/api/status"))
            except (OSError, urllib.error.URLError):
                return False

        wait_for(ready, timeout=timeout, what=f"JupyterLab at {self.url}", interval=0.5)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log (for failure messages)."""
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def api(self, method: str, path: str) -> Any:
        """Call the server's REST API; the decoded JSON answer (None when empty).

        No token, but the XSRF check stays on: a state-changing call sends the ``_xsrf`` cookie
        that the server set on a first GET back in the ``X-XSRFToken`` header, as the browser does.
        """
        headers = {}
        if method != "GET":
            if not self._xsrf():
                self._opener.open(self.url + "/lab", timeout=10).close()
            headers["X-XSRFToken"] = self._xsrf()
        request = urllib.request.Request(self.url + path, method=method, headers=headers)
        with self._opener.open(request, timeout=10) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def page_config(self) -> dict[str, Any]:
        """The configuration the server hands to the JupyterLab page (``jupyter-config-data``)."""
        with self._opener.open(self.url + "/lab", timeout=10) as answer:
            page = answer.read().decode("utf-8")
        found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
        if not found:
            raise ValueError(f"{self.url}/lab has no jupyter-config-data")
        return dict(json.loads(found.group(1)))

    def _xsrf(self) -> str:
        return next((cookie.value or "" for cookie in self._cookies if cookie.name == "_xsrf"), "")

    def kernels(self) -> list[dict[str, Any]]:
        """The running kernels, as the server lists them."""
        return list(self.api("GET", "/api/kernels"))

    def remember_kernel_pids(self) -> set[int]:
        """Note the process id of every kernel the server started (children of the server)."""
        if self.process is None:
            return set()
        for child in descendants(self.process.pid):
            if "ipykernel" in _cmdline(child):
                self.kernel_pids.add(child)
        return set(self.kernel_pids)

    def stop(self, timeout: float = 30) -> list[int]:
        """Shut every kernel down through the API, then stop the server; the pids still alive after."""
        if self.process is None:
            return []
        self.remember_kernel_pids()
        started = {self.process.pid} | self.kernel_pids
        if self.process.poll() is None:
            with suppress(OSError, urllib.error.URLError):
                for kernel in self.kernels():
                    self.api("DELETE", f"/api/kernels/{kernel['id']}")
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        with suppress(TimeoutError):
            wait_for(lambda: not any(pid_alive(pid) for pid in started), timeout=10, what="the kernels to exit")
        leftovers = [pid for pid in started if pid_alive(pid)]
        for pid in leftovers:  # never leave them behind, even when the test then fails
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process = None
        return leftovers


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` (Linux /proc; empty elsewhere)."""
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop()
        path = Path(f"/proc/{parent}/task/{parent}/children")
        try:
            kids = [int(word) for word in path.read_text().split()]
        except OSError:
            kids = []
        found.extend(kids)
        queue.extend(kids)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@contextmanager
def chromium_browser(executable: str) -> Iterator[Any]:
    """A headless system Chromium through Playwright; closed (and Playwright's driver stopped) on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
