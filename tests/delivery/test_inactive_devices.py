"""A device unregistered between the fan-out and a later run of its batch (a retry, a job
leased again) gets nothing more: its delivery fails with the reason, and the rest of the
batch goes out."""

from __future__ import annotations

import httpx

from pushgate.delivery.jobs import FANOUT, SEND, read_fanout, read_send, send_job
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.delivery.conftest import (
    fan_out_by_hand,
    three_devices_and_a_broadcast,
    worker_by_hand,
)


async def test_a_device_unregistered_after_the_fan_out_is_not_sent_to(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    ids, notification_id = await three_devices_and_a_broadcast(client, webhook_app, webhook_sim)
    # The worker's steps one by one: fan out (the three fit one batch, handed back to
    # send at once), unregister a device, then send the batch.
    async with worker_by_hand(services) as handle:
        job, batch = await fan_out_by_hand(services, handle)
        assert len(batch.delivery_ids) == 3
        assert (await client.delete(f"/v1/devices/{ids[0]}")).status_code == 200
        await handle.worker.sender.run(batch)
        await services.queue.ack([job])
    status = (await client.get(f"/v1/notifications/{notification_id}")).json()
    assert status["state"] == "completed"
    assert {k: v for k, v in status["deliveries"].items() if v} == {"sent": 2, "failed": 1}
    failed = await client.get(
        f"/v1/notifications/{notification_id}/deliveries", params={"outcome": "failed"}
    )
    [record] = failed.json()["items"]
    assert (record["device_id"], record["reason"]) == (ids[0], "device unregistered")
    # The receiver records the path each delivery was posted to.
    assert sorted(r.token for r in webhook_sim.all_received()) == ["/hook/1", "/hook/2"]


async def test_a_first_run_sends_the_batch_as_the_fan_out_read_it(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    """The first run of a batch sends to the devices its job carries, read by the fan-out
    a moment before, without reading them back: a device unregistered in that moment still
    gets this one notification, as it was in the audience when the notification went out.
    Its job carries the addresses through the queue's own encoding."""
    ids, notification_id = await three_devices_and_a_broadcast(client, webhook_app, webhook_sim)
    async with worker_by_hand(services) as handle:
        job, batch = await fan_out_by_hand(services, handle)
        carried = read_send(send_job(batch).payload)
        assert carried == batch
        assert carried.members is not None
        assert sorted(m.device_id for m in carried.members) == sorted(ids)
        assert (await client.delete(f"/v1/devices/{ids[0]}")).status_code == 200
        await handle.worker.sender.run(carried, first_run=True)
        await services.queue.ack([job])
    status = (await client.get(f"/v1/notifications/{notification_id}")).json()
    assert status["state"] == "completed"
    assert {k: v for k, v in status["deliveries"].items() if v} == {"sent": 3}
    assert sorted(r.token for r in webhook_sim.all_received()) == [
        "/hook/0",
        "/hook/1",
        "/hook/2",
    ]


async def test_a_fan_out_page_run_again_sends_nothing_twice(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    """A fan-out job run a second time (its worker died after queueing the page's send
    jobs) finds the page's deliveries made already: it queues them again, but without
    their devices, so those jobs read back what is still pending and none is sent twice."""
    _, notification_id = await three_devices_and_a_broadcast(client, webhook_app, webhook_sim)
    async with worker_by_hand(services) as handle:
        handle.worker.fanout.batch_size = 1  # three send jobs, none sent inline
        [job] = await services.queue.lease((FANOUT,), 10, 60.0)
        assert await handle.worker.fanout.run(read_fanout(job.payload)) == []
        assert await handle.worker.fanout.run(read_fanout(job.payload)) == []
        await services.queue.ack([job])
        sends = await services.queue.lease((SEND,), 100, 60.0)
        assert len(sends) == 6
        carried = [read_send(s.payload).members is not None for s in sends]
        assert sorted(carried) == [False] * 3 + [True] * 3
        for send in sends:
            assert send.attempts == 1
            await handle.worker.sender.run(read_send(send.payload), first_run=True)
        await services.queue.ack(sends)
    assert webhook_sim.counters["duplicates"] == 0
    assert sorted(r.token for r in webhook_sim.all_received()) == [f"/hook/{n}" for n in range(3)]
    status = (await client.get(f"/v1/notifications/{notification_id}")).json()
    assert status["state"] == "completed"
    assert {k: v for k, v in status["deliveries"].items() if v} == {"sent": 3}
