"""Action responses handled per second in embedded mode (docs/actions.md, "Answering a
notification"), and their latency.

One ``pushgate serve`` (API + worker, SQLite, queue in the same database) pinned to CPU 0.
This process (pinned to CPU 1) is the devices and the host system: a webhook receiver the
pushes go to, a second one the ``webhook`` handler posts to, and the load generator.

Set-up, before any clock runs: ``--apps`` apps of ``--devices`` webhook devices each, and
per handler kind a broadcast with one action of that kind to every device, sent through
pushgate's own pipeline; each device's response token and answer URL are read from the push
it received (nothing is minted by hand). Then every device answers once, ``--concurrency``
answers in flight, each a POST of ``{}`` with its token:

- ``record``: latency from the device's POST to pushgate's answer (200, the response
  settled: ``record`` succeeds at once);
- ``webhook``: latency from the device's POST to the handler receiver's receipt of it
  (matched on ``webhook-id``, the response's id), and the answers' own latency beside.

Answers are spread over apps because each app's devices may answer 200/s (burst 2,000)
before pushgate answers 429 (docs/actions.md): the bench measures handling, not that limit.

    .venv/bin/python bench/action_responses.py [--apps 4] [--devices 1000] [--concurrency 32]
        [--set PUSHGATE_WORKER_CONCURRENCY=32] [--profile FILE] [--kinds record webhook]
        [--client httpx|raw]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "bench"))
import e2e_processes as proc  # noqa: E402

sys.path.pop(0)

from pushgate.simulators.identity import identity_of  # noqa: E402
from pushgate.simulators.server import start  # noqa: E402
from pushgate.simulators.webhook import WebhookSimulator  # noqa: E402

BENCH_CORE = 1
KINDS = ("record", "webhook")
SEND_TIMEOUT = 300.0


@dataclass
class Answer:
    """One device's answer to come: where, with which token."""

    url: str
    token: str


@dataclass
class KindResult:
    kind: str
    answers: int
    seconds: float
    statuses: Counter[int]
    answer_ms: list[float]
    handler_ms: list[float] = field(default_factory=list)
    cpu_us: float = 0.0
    client_cpu_us: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "answers": self.answers,
            "per_second": round(self.answers / self.seconds),
            "statuses": dict(self.statuses),
            "answer_p50_ms": _percentile(self.answer_ms, 50),
            "answer_p99_ms": _percentile(self.answer_ms, 99),
            "handler_p50_ms": _percentile(self.handler_ms, 50) if self.handler_ms else None,
            "handler_p99_ms": _percentile(self.handler_ms, 99) if self.handler_ms else None,
            "pushgate_cpu_us_per_answer": round(self.cpu_us),
            "client_cpu_us_per_answer": round(self.client_cpu_us),
        }


def _percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, len(ordered) * pct // 100)], 2)


class Bench:
    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args = args
        self.folder = folder
        self.processes = proc.Processes()
        self.port = proc.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.devices = WebhookSimulator()
        self.handler = WebhookSimulator()
        self.server_pid = 0

    async def run(self) -> list[KindResult]:
        devices = await start(self.devices)
        handler = await start(self.handler)
        try:
            key = self._start_pushgate()
            async with httpx.AsyncClient(
                base_url=self.base, headers={"Authorization": f"Bearer {key}"}, timeout=60
            ) as api:
                apps = [f"bench{n}" for n in range(self.args.apps)]
                for app in apps:
                    await self._set_up_app(api, app)
                results = []
                for kind in self.args.kinds:
                    answers = await self._broadcast(api, apps, kind)
                    results.append(await self._answer_all(kind, answers))
                return results
        finally:
            self.processes.stop_all()
            await devices.close()
            await handler.close()

    def _start_pushgate(self) -> str:
        env = proc.clean_env(
            PUSHGATE_DATA_DIR=str(self.folder),
            PUSHGATE_BIND=f"127.0.0.1:{self.port}",
            PUSHGATE_ALLOW_PRIVATE_TARGETS="true",
            PUSHGATE_LOG_LEVEL="warning",
            **self.args.setting,
        )
        proc.cli(env, "migrate")
        key = proc.admin_key(env, self.folder)
        log = self.folder / "serve.log"
        server = proc.start_pushgate(self.processes, env, ["serve"], True, log)
        proc.wait_healthy(self.base, server)
        self.server_pid = server.pid
        return key

    async def _set_up_app(self, api: httpx.AsyncClient, app: str) -> None:
        await _ok(api.post("/v1/apps", json={"name": app}))
        hooks = f"{self.devices.base_url}/{app}"
        await _ok(api.put(f"/v1/apps/{app}/credentials/webhook", json={"url": hooks}))
        handlers = {
            "record": {"kind": "record"},
            "webhook": {"kind": "webhook", "url": f"{self.handler.base_url}/answers"},
        }
        for kind, handler in handlers.items():
            body = {"key": kind, "title": kind.title(), "handler": handler}
            await _ok(api.post(f"/v1/apps/{app}/actions", json=body))
        gate = asyncio.Semaphore(32)

        async def register(index: int) -> None:
            async with gate:
                body = {"provider": "webhook", "token": f"{hooks}/{index}"}
                await _ok(api.post(f"/v1/apps/{app}/devices", json=body))

        await asyncio.gather(*(register(n) for n in range(self.args.devices)))

    async def _broadcast(self, api: httpx.AsyncClient, apps: list[str], kind: str) -> list[Answer]:
        """Send each app's devices a push with the one action ``kind``; their answers."""
        self.devices.reset()
        sent = []
        for app in apps:
            body = {"app": app, "audience": {"everyone": True}, "title": kind, "actions": [kind]}
            made = await api.post("/v1/notifications", json=body)
            if made.status_code >= 300:
                raise RuntimeError(f"POST /v1/notifications: {made.text}")
            sent.append(made.json()["id"])
        expected = len(apps) * self.args.devices
        deadline = time.monotonic() + SEND_TIMEOUT
        while len(self.devices.all_received()) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(self.devices.all_received())} of {expected} arrived")
            await asyncio.sleep(0.1)
        # The worker settles each delivery after the device got it: wait for that too,
        # so that the answers' CPU and time are the answers' only.
        for notification in sent:
            while (await api.get(f"/v1/notifications/{notification}")).json()["state"] == "sending":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"notification {notification} still sending")
                await asyncio.sleep(0.1)
        answers = []
        for item in self.devices.all_received():
            identity = identity_of("webhook", item.body)
            if identity is None or identity.token is None:
                raise RuntimeError(f"a push without a token: {item.body}")
            [action] = identity.named_actions()
            answers.append(Answer(identity.answer_url(action["id"]), identity.token))
        return answers

    async def _answer_all(self, kind: str, answers: list[Answer]) -> KindResult:
        self.handler.reset()
        statuses: Counter[int] = Counter()
        answer_ms: list[float] = []
        posted: dict[str, float] = {}  # response id -> when its POST started (epoch s)
        cpu_before = proc.cpu_seconds(self.server_pid)
        client_before = time.process_time()
        profiler = self._profiler(kind)
        answering = _answer_raw if self.args.client == "raw" else _answer_httpx
        began = time.perf_counter()
        await answering(answers, self.args.concurrency, statuses, answer_ms, posted)
        seconds = time.perf_counter() - began
        client_us = (time.process_time() - client_before) * 1e6 / len(answers)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        cpu_us = (proc.cpu_seconds(self.server_pid) - cpu_before) * 1e6 / len(answers)
        handler_ms = [
            (item.received_at - posted[item.message_id]) * 1000
            for item in self.handler.all_received()
            if item.message_id in posted
        ]
        return KindResult(
            kind, len(answers), seconds, statuses, answer_ms, handler_ms, cpu_us, client_us
        )

    def _profiler(self, kind: str) -> subprocess.Popen[bytes] | None:
        """py-spy sampling the server while the ``record`` answers run (--profile)."""
        if self.args.profile is None or kind != "record":
            return None
        spy = str(Path(sys.executable).parent / "py-spy")
        command = [spy, "record", "--pid", str(self.server_pid), "--format", "raw"]
        output = ["--rate", "200", "--output", str(self.args.profile)]
        return subprocess.Popen([*command, *output], stdout=subprocess.DEVNULL)


async def _answer_httpx(
    answers: list[Answer],
    concurrency: int,
    statuses: Counter[int],
    answer_ms: list[float],
    posted: dict[str, float],
) -> None:
    """The answers through httpx, ``concurrency`` in flight over as many connections."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:

        async def one(answer: Answer) -> None:
            async with gate:
                started, wall = time.perf_counter(), time.time()
                got = await http.post(answer.url, content=b"{}", headers=_headers(answer.token))
                answer_ms.append((time.perf_counter() - started) * 1000)
                statuses[got.status_code] += 1
                if got.status_code == 200:
                    posted[got.json()["response"]] = wall

        await asyncio.gather(*(one(answer) for answer in answers))


async def _answer_raw(
    answers: list[Answer],
    concurrency: int,
    statuses: Counter[int],
    answer_ms: list[float],
    posted: dict[str, float],
) -> None:
    """The same answers as plain HTTP/1.1 over ``concurrency`` keep-alive connections, one
    request at a time on each: a client far cheaper than httpx, so that the load
    generator (on the other core) is not what bounds the figure."""
    pending = iter(answers)

    async def connection() -> None:
        url = httpx.URL(answers[0].url)
        reader, writer = await asyncio.open_connection(url.host, url.port)
        try:
            for answer in pending:
                path = httpx.URL(answer.url).raw_path.decode()
                request = (
                    f"POST {path} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
                    f"Authorization: Bearer {answer.token}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                ).encode()
                started, wall = time.perf_counter(), time.time()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status, length = _status_and_length(head)
                body = await reader.readexactly(length)
                answer_ms.append((time.perf_counter() - started) * 1000)
                statuses[status] += 1
                if status == 200:
                    posted[json.loads(body)["response"]] = wall
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(min(concurrency, len(answers)))))


def _status_and_length(head: bytes) -> tuple[int, int]:
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(lines[0].split()[1]), length


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def _ok(request: Any) -> None:
    answer: httpx.Response = await request
    if answer.status_code >= 300:
        raise RuntimeError(f"{answer.request.method} {answer.request.url}: {answer.text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=4)
    parser.add_argument("--devices", type=int, default=1000, help="per app")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--set",
        dest="setting",
        action="append",
        default=[],
        type=lambda text: tuple(text.split("=", 1)),
        help="a PUSHGATE_* setting for the server, NAME=VALUE (repeatable)",
    )
    parser.add_argument(
        "--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="handler kinds to run"
    )
    parser.add_argument(
        "--client",
        choices=("httpx", "raw"),
        default="httpx",
        help="load generator: httpx, or plain HTTP/1.1 over keep-alive connections",
    )
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks of the record run")
    args = parser.parse_args()
    args.setting = dict(args.setting)
    os.sched_setaffinity(0, {BENCH_CORE})
    with tempfile.TemporaryDirectory(prefix="pushgate-bench-answers-") as folder:
        results = asyncio.run(Bench(args, Path(folder)).run())
    for result in results:
        print(json.dumps(result.summary()))
    print(
        f"load: {args.apps} apps x {args.devices} devices, {args.concurrency} in flight, "
        f"{args.client} client"
    )
    if args.setting:
        print(f"settings: {args.setting}")


if __name__ == "__main__":
    main()
