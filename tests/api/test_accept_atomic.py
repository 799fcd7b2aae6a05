"""Embedded mode (the ``sql`` queue, SQLite or PostgreSQL): a notification and its fan-out
job are stored in one transaction (docs/architecture.md §9), so neither exists without
the other. Shown with a trigger of the test's own database that refuses job rows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from pushgate.storage.tables import jobs, notifications
from pushgate.wiring import Services

SQLITE_REFUSE = (
    "CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'refused'); END",
)
POSTGRES_REFUSE = (
    "CREATE OR REPLACE FUNCTION refuse_jobs() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
    "CREATE TRIGGER refuse_jobs BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION refuse_jobs()",
)


@pytest.fixture
async def jobs_refused(services: Services) -> AsyncIterator[None]:
    postgres = services.engine.dialect.name == "postgresql"
    async with services.engine.begin() as connection:
        for statement in POSTGRES_REFUSE if postgres else SQLITE_REFUSE:
            await connection.execute(sa.text(statement))
    try:
        yield
    finally:
        drop = "DROP TRIGGER IF EXISTS refuse_jobs" + (" ON jobs" if postgres else "")
        async with services.engine.begin() as connection:
            await connection.execute(sa.text(drop))


async def _count(services: Services, table: sa.Table) -> int:
    async with services.engine.connect() as connection:
        found = await connection.execute(sa.select(sa.func.count()).select_from(table))
        return int(found.scalar_one())


async def test_a_notification_whose_job_cannot_be_stored_is_not_stored(
    services: Services, client: httpx.AsyncClient, app_name: str, jobs_refused: None
) -> None:
    body = {"app": app_name, "audience": {"everyone": True}, "body": "hi"}
    answer = await client.post("/v1/notifications", json=body)
    assert answer.status_code >= 400, answer.text
    assert await _count(services, notifications) == 0


async def test_an_accepted_notification_has_its_job(
    services: Services, client: httpx.AsyncClient, app_name: str
) -> None:
    body = {"app": app_name, "audience": {"everyone": True}, "body": "hi"}
    answer = await client.post("/v1/notifications", json=body)
    assert answer.status_code == 202, answer.text
    assert await _count(services, notifications) == 1
    assert await _count(services, jobs) == 1
