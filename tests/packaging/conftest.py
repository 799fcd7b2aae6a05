"""The wheel is built and installed once per test process."""

from __future__ import annotations

import pytest

from tests.packaging.installed import InstalledPushgate, build_wheel, install_wheel


@pytest.fixture(scope="session")
def installed_pushgate(tmp_path_factory: pytest.TempPathFactory) -> InstalledPushgate:
    wheel = build_wheel(tmp_path_factory.mktemp("wheel"))
    return install_wheel(wheel, tmp_path_factory.mktemp("venv") / "pushgate")
