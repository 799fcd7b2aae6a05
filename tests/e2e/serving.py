"""Running ``pushgate serve`` as a real process for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TypeVar

import httpx

T = TypeVar("T")

# How long a started ``pushgate`` may take to answer: one process importing and migrating
# takes seconds of CPU, and with the machine's two cores shared by a dozen busy processes
# a full run has seen over 30 s.
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pushgate_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without PUSHGATE_* settings, pointed at ``data_dir``;
    the CLI profiles a first start saves go beside it, not in the user's home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.update(
        {
            "PUSHGATE_DATA_DIR": str(data_dir),
            "COLUMNS": "250",
            "XDG_CONFIG_HOME": str(data_dir.parent / f"{data_dir.name}-user-config"),
            **extra,
        }
    )
    return env


# Where each started server prints: a file, not a pipe, since a pipe read only at the end
# would fill with the access log of a busy test and stall the server writing it.
_outputs: dict[int, Path] = {}


def start_server(data_dir: Path, *flags: str, **extra: str) -> tuple[str, subprocess.Popen[str]]:
    """Start ``pushgate serve`` (with ``flags``, say ``--no-worker``) on a free loopback
    port; returns its base URL once healthy."""
    port = free_port()
    output_path = data_dir.parent / f"{data_dir.name}-serve-{port}.log"
    with output_path.open("w") as output_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "pushgate", "serve", "--init", *flags],
            env=pushgate_env(data_dir, PUSHGATE_BIND=f"127.0.0.1:{port}", **extra),
            stdout=output_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
    _outputs[process.pid] = output_path
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return base, process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    process.wait(timeout=15)
    raise RuntimeError(f"pushgate serve did not start:\n{_outputs.pop(process.pid).read_text()}")


def stop_server(process: subprocess.Popen[str]) -> str:
    """Stop the server (or another ``pushgate`` process printing into a pipe) and return
    everything it printed."""
    process.terminate()
    if process.pid not in _outputs:
        output, _ = process.communicate(timeout=15)
        return output
    process.wait(timeout=15)
    return _outputs.pop(process.pid).read_text()


def wait_until(check: Callable[[], T | None], seconds: float, what: str) -> T:
    """Poll ``check`` every 50 ms until it returns something other than None or False;
    fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:.0f} s waiting for {what}")
        time.sleep(0.05)


class Processes:
    """Real processes started by one test, each printing into a log file of its own.

    Leaving the ``with`` block kills (SIGKILL) every one still running, whatever
    happened in the test, so no process outlives it.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._running: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def __enter__(self) -> Processes:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process, log in self._running:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=15)
            log.close()
        self._running.clear()

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def log(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def spawn(self, name: str, args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start ``python -m pushgate <args>`` unbuffered, its output going to ``name``.log."""
        log = self.log_path(name).open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "pushgate", *args],
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._running.append((process, log))
        return process

    def serve(
        self, name: str, env: dict[str, str], *args: str
    ) -> tuple[str, subprocess.Popen[bytes]]:
        """``pushgate serve`` on a free loopback port; its base URL once it answers."""
        port = free_port()
        bind = {"PUSHGATE_BIND": f"127.0.0.1:{port}"}
        process = self.spawn(name, ["serve", "--init", *args], {**env, **bind})
        base = f"http://127.0.0.1:{port}"

        def is_healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.log(name)}")
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(is_healthy, START_SECONDS, f"{name} to answer /healthz")
        return base, process

    def worker(self, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        """``pushgate worker``, returned once it says it is running."""
        process = self.spawn(name, ["worker"], env)

        def is_running() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.log(name)}")
            return "worker running" in self.log(name)

        wait_until(is_running, START_SECONDS, f"{name} to start")
        return process
