"""How preferences decide, and what the fan-out's filter reads for them: nothing for a
tenant without preferences; a type people may not opt out of passes them all
(docs/preferences.md)."""

from __future__ import annotations

from pushgate.core.notifications import AudienceMember
from pushgate.core.preferences import (
    Choice,
    DevicePreferences,
    PagePreferences,
    PreferenceFilter,
    TypeChoice,
    UserPreferences,
    withheld_by_preference,
)
from pushgate.core.quiet_hours import QuietHours
from pushgate.core.suppression import SuppressionReason

OPTED_OUT = SuppressionReason.OPTED_OUT
DEVICE_MUTED = SuppressionReason.DEVICE_MUTED


def _member(device_id: str, user_id: str | None, provider: str = "apns") -> AudienceMember:
    return AudienceMember(device_id, provider, "token", None, None, user_id, None)


PAGE = [
    _member("tablet", "ann"),
    _member("phone", "ann", "fcm"),
    _member("bob-1", "bob"),
    _member("kiosk", None),
]


class CountingStore:
    """Preferences in memory, counting what the filter asks for."""

    def __init__(self, found: PagePreferences) -> None:
        self.found = found
        self.flag_reads = 0

    async def has_preferences(self, tenant_id: str) -> bool:
        self.flag_reads += 1
        return bool(self.found.users or self.found.devices)


async def _optional(app_id: str, key: str) -> bool:
    return key != "alert"


def test_the_user_comes_before_the_device() -> None:
    found = PagePreferences(
        {"ann": UserPreferences(types={"visit": TypeChoice(providers_out=("fcm",))})},
        {
            "tablet": DevicePreferences(muted_types=("visit",)),
            "phone": DevicePreferences(enabled=False),
            "kiosk": DevicePreferences(muted_types=("other",)),
        },
    )
    # The phone is opted out by channel (fcm) before its own switch is looked at.
    assert withheld_by_preference("visit", PAGE, found) == {
        "tablet": DEVICE_MUTED,
        "phone": OPTED_OUT,
    }
    assert withheld_by_preference("other", PAGE, found) == {
        "phone": DEVICE_MUTED,
        "kiosk": DEVICE_MUTED,
    }


def test_the_default_and_a_types_own_choice() -> None:
    out = UserPreferences(Choice.OUT, {"visit": TypeChoice(Choice.IN)})
    found = PagePreferences({"bob": out}, {})
    assert withheld_by_preference("visit", PAGE, found) == {}
    assert withheld_by_preference("other", PAGE, found) == {"bob-1": OPTED_OUT}
    said_out = UserPreferences(Choice.IN, {"visit": TypeChoice(Choice.OUT)})
    assert withheld_by_preference("visit", PAGE, PagePreferences({"bob": said_out}, {})) == {
        "bob-1": OPTED_OUT
    }


async def test_whether_a_tenant_has_preferences_is_read_once_and_kept() -> None:
    store = CountingStore(PagePreferences({}, {}))
    preferences = PreferenceFilter(store, _optional)
    for _ in range(3):
        assert not await preferences.tenant_has_preferences("t")
    assert store.flag_reads == 1
    preferences.forget()
    assert not await preferences.tenant_has_preferences("t")
    assert store.flag_reads == 2


async def test_a_type_people_may_not_opt_out_of_passes_them_all() -> None:
    off = PagePreferences({"ann": UserPreferences(Choice.OUT)}, {"kiosk": DevicePreferences(False)})
    preferences = PreferenceFilter(CountingStore(off), _optional)
    assert await preferences.withheld("app", "alert", PAGE, off) == {}
    withheld = await preferences.withheld("app", "visit", PAGE, off)
    assert withheld == {"tablet": OPTED_OUT, "phone": OPTED_OUT, "kiosk": DEVICE_MUTED}


def test_own_quiet_hours_are_those_that_read_as_a_window() -> None:
    def said(quiet: object) -> UserPreferences:
        return UserPreferences(quiet_hours=quiet)  # type: ignore[arg-type]

    found = PagePreferences(
        {
            "ann": said({"start": "22:00", "end": "07:00", "urgent_passes": False}),
            "bob": said({"start": "22:00", "end": "07:00"}),
            "cat": said({"start": "25:00", "end": "07:00"}),
            "dan": said({"start": "22:00"}),
            "eve": said(None),
        },
        {},
    )
    assert found.own_quiet_hours() == {
        "ann": QuietHours.of("22:00", "07:00", urgent_passes=False),
        # Left unsaid, urgent notifications pass a person's own window.
        "bob": QuietHours.of("22:00", "07:00", urgent_passes=True),
    }
