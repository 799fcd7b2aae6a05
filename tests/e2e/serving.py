"""Running ``pushgate serve`` as a real process for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pushgate_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without PUSHGATE_* settings, pointed at ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.update({"PUSHGATE_DATA_DIR": str(data_dir), "COLUMNS": "250", **extra})
    return env


def start_server(data_dir: Path, **extra: str) -> tuple[str, subprocess.Popen[str]]:
    """Start ``pushgate serve`` on a free loopback port; returns its base URL once healthy."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pushgate", "serve"],
        env=pushgate_env(data_dir, PUSHGATE_BIND=f"127.0.0.1:{port}", **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return base, process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    output, _ = process.communicate(timeout=15)
    raise RuntimeError(f"pushgate serve did not start:\n{output}")


def stop_server(process: subprocess.Popen[str]) -> str:
    """Stop the server and return everything it printed."""
    process.terminate()
    output, _ = process.communicate(timeout=15)
    return output
