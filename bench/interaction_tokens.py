"""What an interaction token in every payload costs the send path: bytes and CPU per
delivery (docs/reports.md, "Interaction tokens").

The send path renders a batch's shared payload once and adds each delivery's identity to it
(``BatchIdentity.of`` then ``with_identity``, core/identity.py). Three ways are timed here
in one process, interleaved, each the median of ``--repeat`` runs of ``--count``
deliveries, on a notification without actions (the common push):

- ``none``: the identity as it was before interaction tokens (five ids and names, no
  token): the baseline of the sitting;
- ``itoken``: the identity with the 55-character interaction token (what is built);
- ``response``: the 116-character response token minted for every payload instead (the
  alternative: one token for answers and reports).

Printed: µs of CPU per delivery (process time), the ratio to ``none``, and the bytes the
identity adds to a payload.

    .venv/bin/python bench/interaction_tokens.py [--count 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))

import orjson  # noqa: E402

from pushgate.core import response_tokens  # noqa: E402
from pushgate.core.identity import BatchIdentity, PayloadIdentity  # noqa: E402
from pushgate.core.ids import new_ids  # noqa: E402
from pushgate.core.secretbox import SecretBox  # noqa: E402
from pushgate.providers.payload_identity import with_identity  # noqa: E402

SHARED = orjson.dumps({"aps": {"alert": {"title": "Doors open", "body": "Come in"}}})
INSTANCE, NAME, APP = new_ids(1)[0], "https://push.example.com", "shop"


def _none(batch: BatchIdentity, delivery: str, device: str) -> bytes:
    fields = {
        "instance": batch.instance_id,
        "server": batch.instance_name,
        "app": batch.app,
        "notification": batch.notification_id,
        "delivery": delivery,
    }
    return SHARED[:-1] + b',"pushgate":' + orjson.dumps(fields) + b"}"


def _itoken(batch: BatchIdentity, delivery: str, device: str) -> bytes:
    return with_identity(SHARED, batch.of(delivery, device))


def _response(batch: BatchIdentity, delivery: str, device: str) -> bytes:
    claims = response_tokens.ResponseToken(
        delivery, batch.notification_id, device, batch.token_expires_at
    )
    identity = PayloadIdentity(
        batch.instance_id,
        batch.instance_name,
        batch.app,
        batch.notification_id,
        delivery,
        response_tokens.mint(batch.box, claims),
    )
    fields = identity.fields()
    fields["token"] = fields.pop("itoken")
    return SHARED[:-1] + b',"pushgate":' + orjson.dumps(fields) + b"}"


WAYS: dict[str, Callable[[BatchIdentity, str, str], bytes]] = {
    "none": _none,
    "itoken": _itoken,
    "response": _response,
}


def _run(way: str, batch: BatchIdentity, pairs: list[tuple[str, str]]) -> tuple[float, int]:
    build = WAYS[way]
    start = time.process_time()
    size = 0
    for delivery, device in pairs:
        size = len(build(batch, delivery, device))
    return (time.process_time() - start) / len(pairs) * 1e6, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = int(time.time())
    [notification] = new_ids(1)
    batch = BatchIdentity(
        SecretBox(os.urandom(32)), INSTANCE, NAME, APP, notification, None, False,
        now + 86_400, now + 30 * 86_400,
    )  # fmt: skip
    pairs = list(zip(new_ids(args.count), new_ids(args.count), strict=True))
    runs: dict[str, list[float]] = {way: [] for way in WAYS}
    sizes: dict[str, int] = {}
    for _ in range(args.repeat):
        for way in WAYS:
            micros, sizes[way] = _run(way, batch, pairs)
            runs[way].append(micros)
    base = statistics.median(runs["none"])
    print(f"{args.count} deliveries, median of {args.repeat} interleaved runs")
    print("| way | CPU µs/delivery | ÷ none | payload bytes | + bytes |")
    print("|---|---|---|---|---|")
    for way in WAYS:
        micros = statistics.median(runs[way])
        added = sizes[way] - sizes["none"]
        print(f"| {way} | {micros:.2f} | {micros / base:.2f} | {sizes[way]} | {added:+d} |")


if __name__ == "__main__":
    main()
