"""Answers of the sources routes (docs/events.md, "Inbound sources"): a source as shown,
its verification without any secret."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pushgate.api.schemas import iso
from pushgate.core.inbound_inputs import MappingInput
from pushgate.core.inbound_sources import Source, verification_view
from pushgate.core.relay_origins import QuotaInput


class SourceOut(BaseModel):
    id: str
    key: str
    kind: str
    name: str | None
    #: Where the host sends its requests (no API key: the verification authenticates).
    path: str
    verification: dict[str, Any]
    mapping: MappingInput
    app: str | None
    paused: bool
    rate_limit: QuotaInput | None
    version: int
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, item: Source) -> SourceOut:
        spec = item.spec
        return cls(
            id=item.id,
            key=item.key,
            kind=spec.kind,
            name=spec.name,
            path=item.path,
            verification=verification_view(spec),
            mapping=spec.mapping,
            app=spec.app,
            paused=spec.paused,
            rate_limit=spec.rate_limit,
            version=item.version,
            created_at=iso(item.created_at),
            updated_at=iso(item.updated_at),
        )
