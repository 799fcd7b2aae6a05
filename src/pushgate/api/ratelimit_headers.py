"""The rate-limit answer headers: ``Retry-After`` and the IETF RateLimit fields.

``RateLimit-Policy`` and ``RateLimit`` follow draft-ietf-httpapi-ratelimit-headers-10
(https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/): each is a
Structured Fields List (RFC 9651) with one item per limit the request met, named by a
String (``"key"``, ``"tenant"``, ``"sends"``, ``"deliveries_per_day"``). A policy carries
its quota ``q`` (a bucket's burst, or deliveries a day) and window ``w`` (seconds to refill
from empty); the current state carries ``r``, what remains now, and ``t``, the seconds
until the quota is whole again. ``Retry-After`` (RFC 9110 §10.2.3) is in whole seconds,
rounded up, and comes only on a 429.
"""

from __future__ import annotations

from pushgate.core.rate_limits import RateLimited, Verdict


def limit_headers(verdicts: tuple[Verdict, ...]) -> dict[str, str]:
    if not verdicts:
        return {}
    policy = ", ".join(f'"{v.kind.value}";q={v.quota};w={v.window_seconds}' for v in verdicts)
    state = ", ".join(
        f'"{v.kind.value}";r={v.taken.remaining};t={v.reset_seconds}' for v in verdicts
    )
    return {"RateLimit-Policy": policy, "RateLimit": state}


def refusal_headers(exc: RateLimited) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after_seconds), **limit_headers(exc.verdicts)}
