"""Whose failure a Web Push 401/403 is: one subscription's, or the app's VAPID key's.

A push service refuses the VAPID credentials (docs/providers.md §3.1, §3.3) when the key or its
token is bad, which is the app's problem, but also when the subscription was made under
another key (``k`` differs from its ``applicationServerKey``), which only a re-subscribe of
that browser fixes. The answer alone does not tell them apart reliably (Mozilla autopush
says "VAPID public key mismatch" with a 401, FCM a sentence with a 403, others less), so
the rule looks at the pattern, per push service (the endpoint's origin: each gets its own
token, audience and rules):

- a refusal is the subscription's when the same push service accepted the app's key for
  another subscription: in this batch, or earlier since the client was built (it is built
  anew when the credentials change). A key that signs for one subscription of a service
  is not wrong for the app there. The device is invalidated with the reason
  ``vapid_key_mismatch``;
- two or more refusals from one service with no acceptance from it in the batch are the
  app's credentials whatever came before (``auth_failed``: the sender pauses them), and
  that service is no longer taken to accept the key;
- a refusal with no acceptance from its service to go by (a batch of one, a service not
  heard from yet) is the app's credentials too: a pause is undone by setting the
  credentials again, an invalidated device only by the browser registering again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pushgate.core.outcomes import Outcome, OutcomeKind, invalid_token
from pushgate.providers.http_client import origin_of

VAPID_KEY_MISMATCH = "vapid_key_mismatch"
REFUSED = "VAPID refused"  # how a 401/403 answer's reason starts


class RefusalJudge:
    """Decides the refusals of each batch; remembers the push services that accepted the
    key since it was made (one per provider client, so per set of credentials)."""

    def __init__(self) -> None:
        self.accepting: set[str] = set()

    def judge(self, endpoints: Sequence[str], outcomes: Sequence[Outcome]) -> list[Outcome]:
        """``outcomes`` with each refusal that is the subscription's made ``invalid_token``."""
        origins = [origin_of(endpoint) for endpoint in endpoints]
        accepted = {o for o, out in zip(origins, outcomes, strict=True) if _is_sent(out)}
        refused = Counter(o for o, out in zip(origins, outcomes, strict=True) if _is_refused(out))
        for origin, count in refused.items():
            if count >= 2 and origin not in accepted:
                self.accepting.discard(origin)  # a pattern: the key, not the subscriptions
        self.accepting |= accepted
        return [
            _mismatch(outcome) if _is_refused(outcome) and origin in self.accepting else outcome
            for origin, outcome in zip(origins, outcomes, strict=True)
        ]


def _is_sent(outcome: Outcome) -> bool:
    return outcome.kind is OutcomeKind.SENT


def _is_refused(outcome: Outcome) -> bool:
    return outcome.kind is OutcomeKind.AUTH_FAILED


def _mismatch(refusal: Outcome) -> Outcome:
    detail = refusal.reason.removeprefix(REFUSED)
    return invalid_token(f"{VAPID_KEY_MISMATCH}{detail}", status=refusal.status)
