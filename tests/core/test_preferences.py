"""How preferences decide, and what the fan-out's filter reads for them: nothing for a
tenant without preferences or a type people may not opt out of (docs/preferences.md)."""

from __future__ import annotations

from collections.abc import Iterable

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
        self.page_reads = 0

    async def has_preferences(self, tenant_id: str) -> bool:
        self.flag_reads += 1
        return bool(self.found.users or self.found.devices)

    async def page_preferences(
        self, user_ids: Iterable[str], device_ids: Iterable[str]
    ) -> PagePreferences:
        self.page_reads += 1
        return self.found


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


async def test_a_tenant_without_preferences_reads_no_page() -> None:
    store = CountingStore(PagePreferences({}, {}))
    preferences = PreferenceFilter(store, _optional)
    for _ in range(3):
        assert await preferences.withheld("t", "app", "visit", PAGE) == {}
    # The flag is read once and kept; no page is read.
    assert (store.flag_reads, store.page_reads) == (1, 0)
    preferences.forget()
    assert await preferences.withheld("t", "app", "visit", PAGE) == {}
    assert store.flag_reads == 2


async def test_a_type_people_may_not_opt_out_of_reads_nothing_and_passes() -> None:
    off = PagePreferences({"ann": UserPreferences(Choice.OUT)}, {"kiosk": DevicePreferences(False)})
    store = CountingStore(off)
    preferences = PreferenceFilter(store, _optional)
    assert await preferences.withheld("t", "app", "alert", PAGE) == {}
    assert store.page_reads == 0
    withheld = await preferences.withheld("t", "app", "visit", PAGE)
    assert withheld == {"tablet": OPTED_OUT, "phone": OPTED_OUT, "kiosk": DEVICE_MUTED}
    assert store.page_reads == 1
