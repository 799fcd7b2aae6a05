"""What a failure of the HTTP/2 transport means for a delivery: another attempt, unless the
address guard refused the provider's host."""

from __future__ import annotations

from pushgate.core import outcomes
from pushgate.core.outcomes import Outcome
from pushgate.transport import (
    MaybeProcessedError,
    NotProcessedError,
    TargetRefused,
    TransportError,
)


def outcome_of_failure(error: TransportError) -> Outcome:
    """``retry`` for every transport failure, its reason telling whether it may have arrived.

    A request that was not processed (never sent, refused by GOAWAY or REFUSED_STREAM) is
    safe to resend. One that may have been processed is resent too, since delivery is at
    least once (docs/architecture.md §2); its stable id (``apns-id``, the delivery id) lets devices
    and operators recognise the duplicate.

    A refused target is the credentials' base URL pointing at a loopback, private or
    link-local address (docs/architecture.md §6): no attempt can succeed until an operator
    changes it, so it pauses the credentials like a refused key.
    """
    if isinstance(error, TargetRefused):
        return outcomes.auth_failed(str(error))
    if isinstance(error, NotProcessedError):
        return outcomes.retry(f"not sent: {error.code}")
    if isinstance(error, MaybeProcessedError):
        return outcomes.retry(f"maybe sent: {error.code}")
    return outcomes.retry(f"transport: {error.code}")
