"""The wheel is built, and installed, once per test process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.installed import InstalledPushgate, build_wheel, install_wheel


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def installed_pushgate(
    built_wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> InstalledPushgate:
    return install_wheel(built_wheel, tmp_path_factory.mktemp("venv") / "pushgate")
