"""A worker process that runs respond jobs until it is killed.

Run by ``test_crash.py`` with the settings in ``PUSHGATE_*`` variables:
``respond_child.py APP_ID ACTION_ID HANDLER_URL``. The one action it knows is a webhook
handler to ``HANDLER_URL``.
"""

from __future__ import annotations

import asyncio
import sys

from pushgate.config import load_settings
from pushgate.core.actions import ActionDefinition, WebhookHandler
from pushgate.wiring import build_services, build_worker


class OneAction:
    def __init__(self, action: ActionDefinition) -> None:
        self.defined = action

    async def action(self, app_id: str, action_id: str) -> ActionDefinition | None:
        known = (self.defined.app_id, self.defined.id)
        return self.defined if (app_id, action_id) == known else None

    async def handler_secret(self, action_id: str) -> str | None:
        return None


async def work(app_id: str, action_id: str, url: str) -> None:
    services = await build_services(load_settings(), run_migrations=False)
    action = ActionDefinition(action_id, app_id, "approve", "Approve", {}, WebhookHandler(url))
    handle = build_worker(services, actions=OneAction(action))
    print("working", flush=True)
    await handle.worker.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(work(*sys.argv[1:4]))
