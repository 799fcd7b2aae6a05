"""The built wheel, installed into a fresh virtual environment of its own.

The new environment gets pushgate from the wheel alone (``pip install --no-deps --no-index``,
no network). Its dependencies come from this test run's environment, named in a ``.pth``
file: a plain path line, so Python appends that folder to ``sys.path`` after the new
environment's own and does not run the ``.pth`` files inside it (the editable install's
line pointing at ``src/`` among them). What the installed ``pushgate`` reads (migrations,
console files) therefore comes from the wheel, never from this repository.
https://docs.python.org/3/library/site.html
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build_wheel(out_dir: Path) -> Path:
    """``pip wheel`` of this repository, with the build backend already installed here."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(out_dir),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = out_dir.glob("pushgate-*.whl")
    return wheel


@dataclass(frozen=True)
class InstalledPushgate:
    """A virtual environment with the wheel installed in it."""

    root: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def site_packages(self) -> Path:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return self.root / "lib" / version / "site-packages"

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: no PUSHGATE_* settings, no PYTHONPATH, this venv first."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("PUSHGATE_") and name not in ("PYTHONPATH", "VIRTUAL_ENV")
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def run(self, args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=cwd, env=self.env(**extra), capture_output=True, text=True, timeout=60
        )


def install_wheel(wheel: Path, root: Path) -> InstalledPushgate:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=60
    )
    installed = InstalledPushgate(root, wheel)
    dependencies = {sysconfig.get_paths()[kind] for kind in ("purelib", "platlib")}
    (installed.site_packages / "_test_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in sorted(dependencies))
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(root / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return installed
