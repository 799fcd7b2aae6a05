"""compose.yaml, scale mode: its services, their commands (real ``pushgate`` commands) and
their environment (real settings, valid values, one database account with PostgreSQL's)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from typer.exceptions import TyperException

from pushgate.config import load_settings
from tests.packaging.deploy import SETTING_VARIABLES, accepts
from tests.packaging.installed import ROOT

# Values for the variables compose.yaml asks of the operator (${NAME:?message}).
OPERATOR_VARIABLES = {"POSTGRES_PASSWORD": "pw", "PUSHGATE_SECRET_KEY": "A" * 43}
INTERPOLATION = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def interpolated(value: str) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?message}`` forms."""

    def one(match: re.Match[str]) -> str:
        name, form, rest = match.groups()
        if form == "-":
            return rest
        return OPERATOR_VARIABLES[name]

    return INTERPOLATION.sub(one, value)


def pushgate_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if s.get("build") == "."}


def test_compose_runs_scale_mode_api_two_workers_postgres_and_redis() -> None:
    services = compose()["services"]
    assert {"api", "worker", "postgres", "redis", "migrate"} <= set(services)
    assert services["api"]["command"] == ["serve", "--no-worker"]
    assert services["worker"]["command"][0] == "worker"
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in ("worker", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("api", "worker"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["redis"]["condition"] == "service_healthy"
    # The API's health is the image's HEALTHCHECK (/readyz), not overridden here.
    assert "healthcheck" not in services["api"]
    for name, service in pushgate_services().items():
        assert service["init"] is True, name  # SIGTERM reaches pushgate, not a bare PID 1


def test_compose_commands_are_real_pushgate_commands() -> None:
    for name, service in pushgate_services().items():
        command = service["command"]
        try:
            accepts(command)
        except TyperException as exc:
            pytest.fail(f"{name}: pushgate {' '.join(command)}: {exc.format_message()}")


def test_compose_sets_only_real_settings_with_valid_values() -> None:
    services = pushgate_services()
    assert set(services) == {"migrate", "api", "worker"}
    for name, service in services.items():
        environment = {
            key: interpolated(str(value)) for key, value in service["environment"].items()
        }
        assert set(environment) <= SETTING_VARIABLES, name
        settings = load_settings(env=environment)
        assert settings.effective_database_url.startswith("postgresql+asyncpg://"), name
        assert settings.effective_database_url.endswith("@postgres:5432/pushgate"), name
        assert settings.queue_url == "redis://redis:6379/0"
        assert settings.secret_key is not None  # one key shared by every process
    # The database URL's credentials are the ones the PostgreSQL service is given.
    postgres = compose()["services"]["postgres"]["environment"]
    url = interpolated(services["api"]["environment"]["PUSHGATE_DATABASE_URL"])
    user_password = url.split("//", 1)[1].split("@", 1)[0]
    assert (
        user_password
        == f"{postgres['POSTGRES_USER']}:{interpolated(postgres['POSTGRES_PASSWORD'])}"
    )
    assert url.rsplit("/", 1)[1] == postgres["POSTGRES_DB"]
