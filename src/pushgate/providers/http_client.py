"""The HTTP/1.1 side shared by the Web Push, WNS, HMS and webhook clients.

One pooled ``httpx.AsyncClient`` per provider instance with explicit connect, read, write
and pool timeouts (nothing waits forever), answers read with a size bound, and the
translation of transport failures and ``Retry-After`` into outcomes (docs/architecture.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from pushgate.core.outcomes import Outcome, auth_failed, rejected, retry
from pushgate.providers.options import ProviderOptions
from pushgate.providers.retry_after import parse_retry_after
from pushgate.providers.target_guard import CheckedTransport, PrivateTargetRefused
from pushgate.providers.trust import tls_context
from pushgate.providers.upstream_text import body_detail, clean_detail

# Error answers are short; a receiver that streams megabytes back is not read to the end.
MAX_ANSWER_BYTES = 64 * 1024
# A reason is a prefix of ours (which may quote a provider's code) and a cleaned detail.
MAX_PREFIX_CHARS = 80
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Answer:
    """A provider's answer, read in full (up to :data:`MAX_ANSWER_BYTES`)."""

    status: int
    headers: httpx.Headers
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def make_client(
    options: ProviderOptions, *, read_timeout: float | None = None
) -> httpx.AsyncClient:
    """A pooled HTTP/1.1 client that refuses private addresses unless they are allowed
    (``providers/target_guard.py``): every provider URL may be a tenant's.

    Redirects are never followed: a provider that redirects is answering, not delivering
    (docs/providers.md §6.3), and a redirect could point a request at an internal host.
    """
    context = tls_context(options.ca_files, "http/1.1")  # this client's own
    request_timeout = read_timeout if read_timeout is not None else options.request_timeout
    timeout = httpx.Timeout(
        connect=options.connect_timeout,
        read=request_timeout,
        write=request_timeout,
        pool=options.pool_timeout,
    )
    return httpx.AsyncClient(
        transport=CheckedTransport(options, context),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    request_timeout: httpx.Timeout | None = None,
) -> Answer:
    """POST ``content`` and read the answer, bounded; transport errors propagate."""
    request = client.build_request(
        "POST",
        url,
        content=content,
        headers=headers,
        timeout=request_timeout or httpx.USE_CLIENT_DEFAULT,
    )
    response = await client.send(request, stream=True)
    try:
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) >= MAX_ANSWER_BYTES:
                break
        return Answer(response.status_code, response.headers, bytes(body[:MAX_ANSWER_BYTES]))
    finally:
        await response.aclose()


def retry_after(answer: Answer, now: float) -> float | None:
    """Seconds the provider asked us to wait (``Retry-After``), or None."""
    value = answer.headers.get("retry-after")
    return parse_retry_after(value.encode("latin-1") if value else None, now)


def transport_failure(exc: Exception, *, configured_target: bool = False) -> Outcome:
    """What a failed exchange means: a refused target is permanent, the rest retryable.

    A timeout or a connection lost after the request was written may mean the provider got
    it; delivery is at least once (docs/architecture.md §2), so it is retried, never reported sent.
    A refused target fails the one delivery when the target is the device's own (a webhook
    URL, an endpoint); when it is the credentials' URL (``configured_target``: a base or token
    URL override), nothing succeeds until an operator changes it, so the credentials pause.
    """
    if isinstance(exc, PrivateTargetRefused):
        if configured_target:
            return auth_failed(f"target refused: {exc}")
        return rejected(f"target refused: {exc}")
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return retry(f"timeout: {type(exc).__name__}")
    return retry(short_reason(f"connection failed: {type(exc).__name__}", str(exc)))


def short_reason(prefix: str, detail: str) -> str:
    """``prefix: detail``, both cleaned and bounded (``upstream_text``): the detail is often
    an answer body, and the reason is shown to the tenant and logged."""
    prefix = clean_detail(prefix, MAX_PREFIX_CHARS)
    detail = body_detail(detail)
    return f"{prefix}: {detail}" if detail else prefix


def origin_of(url: str) -> str:
    """The ASCII origin of a URL (RFC 6454 §6.2): scheme, host and a non-default port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
