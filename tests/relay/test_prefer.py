"""The Prefer header of a relay request (RFC 7240): respond-async and wait are read, any
other preference is ignored, and the first of a name counts."""

from __future__ import annotations

import pytest

from pushgate.api.prefer import Preferences, parse_prefer


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], Preferences()),
        (["respond-async"], Preferences(respond_async=True)),
        (["respond-async, wait=10"], Preferences(True, 10.0)),
        (["wait=5", "RESPOND-ASYNC"], Preferences(True, 5.0)),
        (['wait="7"'], Preferences(wait=7.0)),
        (["wait=3, wait=9"], Preferences(wait=3.0)),  # §2: the first counts
        (["wait=soon", "handling=lenient"], Preferences()),
        (["return=minimal; foo=bar, respond-async; x=1"], Preferences(respond_async=True)),
        (["wait=-1"], Preferences()),
    ],
)
def test_prefer(headers: list[str], expected: Preferences) -> None:
    assert parse_prefer(headers) == expected
