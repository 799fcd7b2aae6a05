"""Fixtures shared by every suite: backends, services, an API client with an admin key."""

from __future__ import annotations

import asyncio
import base64
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import sqlalchemy as sa

from pushgate.api.app import create_app
from pushgate.config import Settings
from pushgate.simulators.hms import HmsSimulator
from pushgate.simulators.server import start
from pushgate.simulators.tls import CertificateAuthority, load_or_create_authority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.simulators.webpush import WebPushSimulator
from pushgate.simulators.wns import WnsSimulator
from pushgate.storage import migrate
from pushgate.storage.engine import create_engine
from pushgate.storage.tables import metadata
from pushgate.wiring import Services, build_services
from tests.services import (
    POSTGRES_ADMIN_DB,
    POSTGRES_HOST,
    POSTGRES_PORT,
    POSTGRES_USER,
    SUITE_SKIP_MARK,
    is_ci,
    postgres_url,
    require_service,
    unique_name,
)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _skip_message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)


# Tests that start processes (``pushgate`` commands and servers, Chromium, a ``python -O``
# child) or run long property checks: seconds to minutes each, against well under a
# second for the rest. They are collected first; ``make unit`` hands tests to the workers
# one at a time (``--maxschedchunk 1``), so these start first, spread over every worker,
# and the short tests fill in around them. In collection order they came in a clump in
# the middle of the run, and it ended with one worker busy on the last of them while the
# others had nothing left (bench/README.md "Test suite").
# Not here: the e2e tests that bound a response time (test_sqlite_sharing.py,
# test_hostile_clients.py), which would then run beside all of these at once.
SLOW_FIRST = (
    "tests/e2e/test_cli.py",
    "tests/e2e/test_send_cli.py",
    "tests/e2e/test_crash_safety.py",
    "tests/e2e/test_demo.py",
    "tests/relay/test_relay_e2e.py",
    "tests/e2e/test_secrets_and_backup.py",
    "tests/console/test_browser.py",
    "tests/console/test_console_follow.py",
    "tests/console/test_console_reports.py",
    "tests/sdk/test_web_sdk.py",
    "tests/e2e/test_inbound_crash.py",
    "tests/e2e/test_sources_cli.py",
    "tests/clients/test_python_client.py",
    "tests/api/test_openapi.py",
    "tests/contracts/test_optimized_guards.py",
    "tests/packaging/test_wheel.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def is_slow(item: pytest.Item) -> bool:
        return item.nodeid.startswith(SLOW_FIRST)

    items.sort(key=lambda item: not is_slow(item))  # stable: otherwise in collected order


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Read from the reports, not from state kept by the process that skipped: with
    # ``pytest -n`` the tests run in worker processes and only their reports come back.
    skipped: list[pytest.TestReport] = terminalreporter.stats.get("skipped", [])
    names = set()
    for report in skipped:
        message = _skip_message(report)
        if SUITE_SKIP_MARK in message:
            names.add(message.split(SUITE_SKIP_MARK, 1)[1].split(":", 1)[0].strip())
    if names:
        listed = ", ".join(sorted(names))
        terminalreporter.write_line(f"suites skipped for want of a server: {listed}", yellow=True)
    if skipped and is_ci():
        terminalreporter.write_line(
            f"{len(skipped)} tests skipped: CI=true runs every test", red=True, bold=True
        )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a skipped test fails the run, wherever it skipped (a worker's skip
    reaches the controlling process as a report, counted by the terminal reporter)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not is_ci() or exitstatus != pytest.ExitCode.OK:
        return
    if reporter.stats.get("skipped"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test run, dropped at the end."""
    require_service("postgresql", POSTGRES_HOST, POSTGRES_PORT)
    name = unique_name("pushgate_test")

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(
            host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, database=POSTGRES_ADMIN_DB
        )
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield postgres_url(name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(tmp_path: Path, database_url: str | None, **extra: object) -> Settings:
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "database_url": database_url,
        "secret_key": key,
        "allow_private_targets": True,
        "bind": "127.0.0.1:8080",
        **extra,
    }
    return Settings.model_validate(values)


# Every table's rows deleted, children first, in one statement (the names are pushgate's
# own tables). A TRUNCATE of the tables gives each table and index a new file: 0.4-0.8 s a
# test on the loaded 2-core machine, against 0.003-0.14 s for deleting the few rows a test
# leaves (bench/README.md "Test suite").
_DELETES = " ".join(f'DELETE FROM "{t.name}";' for t in reversed(metadata.sorted_tables))  # noqa: S608
_DELETE_ALL = f"DO $$ BEGIN {_DELETES} END $$"


async def empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            exists = await connection.execute(sa.text("SELECT to_regclass('public.tenants')"))
            if exists.scalar() is not None:
                await connection.execute(sa.text(_DELETE_ALL))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the head revision once per test process (each xdist
    worker has its own). Running the migrations costs ~0.1-0.2 s of CPU a database; a
    test's fresh database is a copy of this file instead (bench/README.md "Test suite").
    The migrations themselves are tested from an empty file in contracts/test_migrations.py.
    """
    path = tmp_path_factory.mktemp("sqlite-template") / "pushgate.db"

    async def make() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()  # the last connection closing checkpoints the WAL

    asyncio.run(make())
    return path


def fresh_sqlite(template: Path, data_dir: Path) -> str:
    """The URL of ``data_dir``/pushgate.db, a copy of the migrated ``template``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "pushgate.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL, each database
    migrated and empty (SQLite: a copy of the migrated template)."""
    if request.param == "sqlite":
        return fresh_sqlite(request.getfixturevalue("migrated_sqlite_template"), tmp_path)
    url: str = request.getfixturevalue("postgres_database")
    return url


@pytest.fixture
async def services(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    built = await build_services(make_settings(tmp_path, database_url))
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def admin_key(services: Services) -> str:
    made = await services.access.bootstrap_admin_key()
    assert made is not None
    return made.plaintext


@asynccontextmanager
async def api_client(services: Services, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """An API client of ``services`` in this process, authenticated with ``key``."""
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://pushgate.test",
        headers={"Authorization": f"Bearer {key}"},
    ) as http:
        yield http


@pytest.fixture
async def client(services: Services, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """An API client authenticated with an instance-wide admin key."""
    async with api_client(services, admin_key) as http:
        yield http


# -- simulators, each served on a free loopback port ----------------------------------------


@pytest.fixture(scope="session")
def sim_authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """The simulators' CA and server certificate; clients trust its ``ca_path``."""
    return load_or_create_authority(tmp_path_factory.mktemp("sim-tls"))


@pytest.fixture
async def webpush_sim() -> AsyncIterator[WebPushSimulator]:
    simulator = WebPushSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()


@pytest.fixture
async def wns_sim() -> AsyncIterator[WnsSimulator]:
    simulator = WnsSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()


@pytest.fixture
async def hms_sim() -> AsyncIterator[HmsSimulator]:
    simulator = HmsSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()


@pytest.fixture
async def webhook_sim() -> AsyncIterator[WebhookSimulator]:
    simulator = WebhookSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()
