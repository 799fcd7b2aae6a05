"""The wheel, installed with pip into a fresh environment, is a working ``pushgate``:
migrations and console files travel inside it, and ``pushgate init`` then ``pushgate serve``
run from it, away from this repository.

Seconds, not milliseconds: what is tested is the built artifact in processes of its own (a
wheel build, a pip install, two ``pushgate`` runs); the wheel is built once per test process
(conftest.py)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import httpx

from tests.e2e.serving import free_port, wait_until
from tests.packaging.deploy import healthcheck_command
from tests.packaging.installed import ROOT, InstalledPushgate

SOURCE = ROOT / "src" / "pushgate"


def test_the_wheel_holds_every_file_of_the_package(built_wheel: Path) -> None:
    wheel = zipfile.ZipFile(built_wheel)
    names = set(wheel.namelist())
    shipped = {
        path.relative_to(SOURCE.parent).as_posix()
        for path in SOURCE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert shipped - names == set()
    assert "pushgate/storage/migrations/script.py.mako" in names
    assert "pushgate/console/static/index.html" in names
    # The vendored chart library ships with its licence (console/static/vendor/uplot).
    uplot = "pushgate/console/static/vendor/uplot/"
    assert {uplot + f for f in ("uPlot.iife.min.js", "uPlot.min.css", "LICENSE")} <= names
    entry_points = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
    assert "pushgate = pushgate.cli:main" in wheel.read(entry_points).decode()


def test_the_installed_command_inits_and_serves_from_site_packages(
    installed_pushgate: InstalledPushgate, tmp_path: Path
) -> None:
    installed = installed_pushgate
    where = installed.run(
        [str(installed.bin / "python"), "-c", "import pushgate; print(pushgate.__file__)"],
        cwd=tmp_path,
    )
    package = Path(where.stdout.strip()).parent
    assert package == installed.site_packages / "pushgate", where.stderr

    config = tmp_path / "pushgate.toml"
    port = free_port()
    init = installed.run(
        ["pushgate", "init", "--config", str(config)],
        cwd=tmp_path,
        PUSHGATE_BIND=f"127.0.0.1:{port}",
        PUSHGATE_DATA_DIR=str(tmp_path / "data"),
    )
    assert init.returncode == 0, init.stderr

    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["pushgate", "serve", "--config", str(config)],
            cwd=tmp_path,
            env=installed.env(PYTHONUNBUFFERED="1"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"

            def is_ready() -> bool:
                if server.poll() is not None:
                    raise AssertionError(f"serve exited:\n{log_path.read_text()}")
                try:
                    return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
                except httpx.TransportError:
                    return False

            # Ready means migrated to head: the migrations ran from the installed package.
            # The bound is generous for a loaded machine (e2e/serving.py waits as long).
            try:
                wait_until(is_ready, 60, "the installed pushgate to answer /readyz")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; it printed:\n{log_path.read_text()}") from None
            page = httpx.get(f"{base}/console/", timeout=5)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            script = httpx.get(f"{base}/console/static/console.js", timeout=5)
            assert script.status_code == 200
            assert script.content == (package / "console" / "static" / "console.js").read_bytes()
            # The container image's health check, run as the image runs it.
            probe = ["python", *healthcheck_command()[1:]]
            bind = f"127.0.0.1:{port}"
            assert installed.run(probe, cwd=tmp_path, PUSHGATE_BIND=bind).returncode == 0
        finally:
            server.terminate()
            server.wait(timeout=15)
    assert installed.run(probe, cwd=tmp_path, PUSHGATE_BIND=bind).returncode != 0
    assert (tmp_path / "data" / "pushgate.db").is_file()
    assert not (tmp_path / "var").exists()  # the data folder came from the file init wrote
