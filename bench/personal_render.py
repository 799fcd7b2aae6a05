"""CPU time of what a recipient template adds per delivery on the send path.

For send batches of 500 deliveries (the default batch size), each to its own user whose
attributes carry a ``name``, in the locales a real audience mixes (none, ``de-DE``,
``fr``): ``Personalizer.messages`` (the template rendered per delivery, the users handed
over from memory, so the batch's one query is not counted) and the APNs payload of every
delivery's message (``render_push``, once per distinct message, as the APNs client does).
The ``plain`` row is the same batch sent without a type: one message per locale and one
payload each. Figures are process CPU time per delivery, the median of ``--repeat`` runs.

``--baseline-src DIR`` runs the same measurement, interleaved, importing pushgate from
another source tree (an earlier commit's ``src/``, e.g. from ``git archive``): before and
after in one sitting.

    .venv/bin/python bench/personal_render.py [--batches 40] [--repeat 5] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

BATCH = 500
LOCALES = (None, "de-DE", "fr")
TEMPLATE = {
    "title": "Hi {{ user.attributes.name }}",
    "body": "{{ data.text }}",
    "locales": {"de": {"title": "Hallo {{ user.attributes.name }}"}},
}
DATA = {"n": "1", "text": "x" * 60}


def measure(batches: int) -> dict[str, float]:
    """µs of CPU per delivery: ``recipient`` and ``plain``, in this process's pushgate."""
    from pushgate.core.notifications import DeviceAddress, DueDelivery, Notification
    from pushgate.core.rendering import render_for
    from pushgate.core.typed_sends import TEMPLATE_KEY
    from pushgate.delivery.personalize import Personalizer
    from pushgate.providers.apns_payload import render_push

    due = [
        DueDelivery(
            f"x{i}", "apns", 0, DeviceAddress(f"d{i}", "t", None, LOCALES[i % 3], f"u{i}"), None
        )
        for i in range(BATCH)
    ]
    people = {
        f"d{i}": {
            "user": {"external_id": f"u{i}", "locale": None, "attributes": {"name": f"user-{i}"}},
            "device": {"locale": LOCALES[i % 3], "provider": "apns"},
        }
        for i in range(BATCH)
    }

    by_user = {f"u{i}": people[f"d{i}"]["user"] for i in range(BATCH)}

    class Recipients:
        async def recipients(self, device_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
            return people

        async def users(self, user_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
            return by_user

    fields: dict[str, Any] = dict.fromkeys(Notification.__dataclass_fields__)
    content = {"data": DATA, TEMPLATE_KEY: {"type": "t", "version": 1, "source": TEMPLATE}}
    typed = Notification(
        **{**fields, "id": "n", "tenant_id": "t", "app_id": "a", "content": content}
    )
    plain_content = {"title": "Hi there", "body": "x" * 60, "data": DATA}
    personalizer = Personalizer(Recipients())

    async def recipient_batch() -> None:
        made = await personalizer.messages(typed, due)
        assert made is not None
        for message in made.values():
            render_push(message, "com.example.app")  # type: ignore[arg-type]

    def plain_batch() -> None:
        for locale in LOCALES:
            render_push(render_for(plain_content, locale), "com.example.app")

    loop = asyncio.new_event_loop()
    loop.run_until_complete(recipient_batch())  # compile and warm up
    started = time.process_time()
    for _ in range(batches):
        loop.run_until_complete(recipient_batch())
    recipient = time.process_time() - started
    started = time.process_time()
    for _ in range(batches):
        plain_batch()
    plain = time.process_time() - started
    loop.close()
    per = 1e6 / (batches * BATCH)
    return {"recipient": recipient * per, "plain": plain * per}


def run_in(src: str | None, batches: int) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--batches", str(batches)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, float] = json.loads(done.stdout)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline-src", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.batches)))
        return
    sources = {"this tree": str(Path(__file__).resolve().parent.parent / "src")}
    if args.baseline_src:
        sources["baseline"] = args.baseline_src
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in sources}
    for _ in range(args.repeat):
        for name, src in sources.items():
            runs[name].append(run_in(src, args.batches))
    print("| source | recipient µs/delivery | plain µs/delivery | added µs |")
    print("|---|---|---|---|")
    for name, found in runs.items():
        recipient = statistics.median(r["recipient"] for r in found)
        plain = statistics.median(r["plain"] for r in found)
        print(f"| {name} | {recipient:.1f} | {plain:.2f} | {recipient - plain:.1f} |")


if __name__ == "__main__":
    main()
