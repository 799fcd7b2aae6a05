"""A worker that leases jobs, prints their ids and hangs until it is killed.

Run as a script by ``test_queue_crash.py``:
``queue_child.py DATABASE_URL QUEUE_URL PREFIX KIND COUNT LEASE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import sys

from pushgate.queue import queue_from_url
from pushgate.storage.engine import create_engine


async def lease_and_hang(argv: list[str]) -> None:
    database_url, queue_url, prefix, kind, count, lease_seconds = argv
    queue = queue_from_url(queue_url, create_engine(database_url), prefix=prefix)
    leased = await queue.lease(kind, int(count), float(lease_seconds))
    print(" ".join(job.id for job in leased), flush=True)
    await asyncio.sleep(120)  # the test kills this process long before


if __name__ == "__main__":
    asyncio.run(lease_and_hang(sys.argv[1:]))
