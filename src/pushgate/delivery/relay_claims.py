"""The message ids a relay process is sending right now, per origin (docs/relay.md,
"Security model"): a copy of an id that comes while its first is still being sent is not
sent again. Held in memory so that a batch costs one write, after the send; the written
final answers take over once the send is over."""

from __future__ import annotations

from collections.abc import Iterable


class Claims:
    """In-flight ids by origin; take and release are synchronous, so no await can come
    between finding an id free and claiming it."""

    def __init__(self) -> None:
        self._held: set[tuple[str, str]] = set()

    def take(self, origin_id: str, ids: Iterable[str]) -> set[str]:
        """Claim the ids no one holds; the ones claimed."""
        taken = set()
        for message_id in ids:
            key = (origin_id, message_id)
            if key not in self._held:
                self._held.add(key)
                taken.add(message_id)
        return taken

    def release(self, origin_id: str, ids: Iterable[str]) -> None:
        for message_id in ids:
            self._held.discard((origin_id, message_id))

    def __len__(self) -> int:
        return len(self._held)
