"""What a failure of the HTTP/2 transport means for a delivery: always another attempt."""

from __future__ import annotations

from pushgate.core import outcomes
from pushgate.core.outcomes import Outcome
from pushgate.transport import MaybeProcessedError, NotProcessedError, TransportError


def outcome_of_failure(error: TransportError) -> Outcome:
    """``retry`` for every transport failure, its reason telling whether it may have arrived.

    A request that was not processed (never sent, refused by GOAWAY or REFUSED_STREAM) is
    safe to resend. One that may have been processed is resent too, since delivery is at
    least once (docs/architecture.md §2); its stable id (``apns-id``, the delivery id) lets devices
    and operators recognise the duplicate.
    """
    if isinstance(error, NotProcessedError):
        return outcomes.retry(f"not sent: {error.code}")
    if isinstance(error, MaybeProcessedError):
        return outcomes.retry(f"maybe sent: {error.code}")
    return outcomes.retry(f"transport: {error.code}")
