"""Bodies of ``POST /v1/interactions`` (docs/reports.md, "Reporting interactions")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from pushgate.core.engagement import InteractionEvent
from pushgate.core.inputs import NAME_PATTERN
from pushgate.core.interaction_tokens import TOKEN_CHARS
from pushgate.core.interactions import MAX_EVENTS, AnyReport, Report, ReportOutcome, UserReport

UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
KEY_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$"


class InteractionIn(BaseModel):
    """One event of one push, with what the push's identity (`pushgate`) carried: its
    `delivery` and `token`, or, under the app's user token (`Pushgate-User-Token`), the
    `device` it went to."""

    model_config = ConfigDict(extra="forbid")

    notification: str = Field(pattern=UUID_PATTERN, description="The identity's `notification`.")
    delivery: str | None = Field(
        None, pattern=UUID_PATTERN, description="The identity's `delivery` (with `token`)."
    )
    token: str | None = Field(
        None,
        min_length=TOKEN_CHARS,
        max_length=TOKEN_CHARS,
        description="The identity's `itoken` (with `delivery`).",
    )
    device: str | None = Field(
        None,
        pattern=UUID_PATTERN,
        description="Instead of `delivery` and `token`, with the app's user token in the "
        "`Pushgate-User-Token` header: the id of the user's device the push went to.",
    )
    event: Literal["received", "opened", "dismissed", "action"]
    action_key: str | None = Field(
        None,
        pattern=KEY_PATTERN,
        description="With `action` only: the tapped action's key (`action` of the push's actions).",
    )
    at: AwareDatetime = Field(description="When it happened on the device (RFC 3339).")

    @model_validator(mode="after")
    def _action_key_with_action_only(self) -> Self:
        if (self.event == "action") != (self.action_key is not None):
            raise ValueError("action_key is given with the event action, and only with it")
        given = (self.delivery is not None, self.token is not None, self.device is not None)
        if given not in ((True, True, False), (False, False, True)):
            raise ValueError("give delivery and token, or device (with a user token)")
        return self

    def report(self) -> AnyReport:
        event, at = InteractionEvent(self.event), _ms(self.at)
        if self.device is not None:
            return UserReport(self.notification, self.device, event, self.action_key, at)
        # Both given: the validator above holds every event to one of the two forms.
        return Report(
            self.notification,
            self.delivery or "",
            self.token or "",
            event,
            self.action_key,
            at,
        )


class InteractionsIn(BaseModel):
    """A batch of a device's events, all of pushes of one app."""

    model_config = ConfigDict(extra="forbid")

    app: str = Field(pattern=NAME_PATTERN, description="The identity's `app`.")
    events: list[InteractionIn] = Field(min_length=1, max_length=MAX_EVENTS)


class InteractionsOut(BaseModel):
    """What became of the batch's events; each is counted once, in one of these."""

    recorded: int = Field(description="Recorded now.")
    duplicates: int = Field(description="Recorded before (or twice in this batch): not again.")
    late: int = Field(description="Of notifications that no longer exist: not recorded.")
    expired: int = Field(description="With an expired token: not recorded.")

    @classmethod
    def of(cls, outcome: ReportOutcome) -> InteractionsOut:
        return cls(
            recorded=outcome.recorded,
            duplicates=outcome.duplicates,
            late=outcome.late,
            expired=outcome.expired,
        )


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
