"""The simulated device answering a push: ``POST /_sim/<provider>/respond`` on every
simulator (docs/simulators.md, "Answering a push").

The device's app reads the identity and actions of a push it received
(:mod:`pushgate.simulators.identity`), picks an action and POSTs the answer to the response
URL the push names, with its token as a bearer token (docs/actions.md, "Payload identity"),
the way the iOS, Android, Windows and service-worker snippets there do. The simulator hands
back what pushgate answered, status and body unchanged, so a test or the demo sees the same
answer a device would.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from pushgate.simulators.identity import ReceivedIdentity, identity_of

# pushgate waits up to its answer wait (5 s by default) for the handler before answering;
# this leaves room for that and a slow connection without hanging a test forever.
ANSWER_TIMEOUT_SECONDS = 30.0
# Which header says where the answer went (absent when the simulator refused by itself).
ANSWER_URL_HEADER = "sim-answer-url"


@dataclass(frozen=True, slots=True)
class AnswerRequest:
    """What ``/_sim/<provider>/respond`` takes: which push of which device, which action,
    and what the person typed (or ``raw_body``: bytes sent as they are, a broken client)."""

    token: str
    action: str
    index: int = -1
    input: str | None = None
    data: dict[str, Any] | None = None
    raw_body: str | None = None

    @classmethod
    def parse(cls, payload: Any) -> AnswerRequest:
        """Read the control route's body; a ValueError names the field that is wrong."""
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object")
        token, action = payload.get("token"), payload.get("action")
        index = payload.get("index", -1)
        if not isinstance(token, str) or not token:
            raise ValueError("token: the device token or subscription id, a string")
        if not isinstance(action, str) or not action:
            raise ValueError("action: an action's key or id, a string")
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError("index: which received push, an integer (-1: the latest)")
        for name, kind in (("input", str), ("data", dict), ("raw_body", str)):
            if payload.get(name) is not None and not isinstance(payload[name], kind):
                raise ValueError(f"{name}: expected a {kind.__name__}")
        return cls(
            token, action, index, payload.get("input"), payload.get("data"), payload.get("raw_body")
        )

    def body(self) -> bytes:
        """What the device POSTs: ``{input?, data?}`` as JSON, or ``raw_body`` as given."""
        if self.raw_body is not None:
            return self.raw_body.encode()
        fields: dict[str, Any] = {}
        if self.input is not None:
            fields["input"] = self.input
        if self.data is not None:
            fields["data"] = self.data
        return orjson.dumps(fields)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the control route answers: pushgate's answer as it came (``url`` set), or the
    simulator's own refusal (``url`` None)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    url: str | None = None

    @classmethod
    def refused(cls, status: int, message: str) -> Answer:
        return cls(status, orjson.dumps({"error": message}))


class Responder:
    """Answers one provider's received pushes as the device's app would.

    ``ca_file`` is trusted beside the system store, for a pushgate serving TLS with a
    certificate of its own CA; plain ``http`` response URLs (pushgate on loopback in tests
    and the demo) need nothing."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._context = ssl.create_default_context()

    def trust(self, ca_file: Path | None) -> None:
        """Verify pushgate's certificate against the system store and ``ca_file``."""
        # Made once: loading the trust store costs milliseconds, too much per answer.
        context = ssl.create_default_context()
        if ca_file is not None:
            context.load_verify_locations(cafile=str(ca_file))
        self._context = context

    async def answer(self, pushes: Sequence[Any], request: AnswerRequest) -> Answer:
        """Answer push ``request.index`` of those one device received (their bodies)."""
        if not pushes:
            return Answer.refused(404, f"{request.token!r} received nothing")
        if not -len(pushes) <= request.index < len(pushes):
            return Answer.refused(404, f"{request.token!r} received {len(pushes)} pushes")
        identity = identity_of(self.provider, pushes[request.index])
        if identity is None or identity.token is None or identity.url is None:
            return Answer.refused(409, "that push carries no actions to answer")
        action = identity.find_action(request.action)
        if action is None:
            keys = [named["action"] for named in identity.named_actions()]
            return Answer.refused(404, f"no action {request.action!r} among {keys}")
        return await self._post(identity, identity.answer_url(action["id"]), request)

    async def _post(self, identity: ReceivedIdentity, url: str, request: AnswerRequest) -> Answer:
        headers = {
            "Authorization": f"Bearer {identity.token}",
            "Content-Type": "application/json",
            "User-Agent": f"pushgate-simulator/{self.provider}",
        }
        try:
            async with httpx.AsyncClient(
                verify=self._context, timeout=ANSWER_TIMEOUT_SECONDS, trust_env=False
            ) as client:
                answered = await client.post(url, content=request.body(), headers=headers)
        except httpx.HTTPError as exc:
            return Answer.refused(502, f"could not answer at {url}: {exc!r}")
        content_type = answered.headers.get("content-type", "application/octet-stream")
        return Answer(answered.status_code, answered.content, content_type, url)
