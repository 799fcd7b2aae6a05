"""Identifiers and API key material."""

from __future__ import annotations

import uuid

from pushgate.core import apikeys
from pushgate.core.ids import new_id, new_ids


def test_ids_are_uuid7_and_time_ordered() -> None:
    made = [new_id() for _ in range(200)]
    assert all(uuid.UUID(i).version == 7 for i in made)
    assert len(set(made)) == 200
    # Same-millisecond ids may tie on time but never go backwards across milliseconds.
    assert [i[:13] for i in made] == sorted(i[:13] for i in made)


def test_ids_made_together_are_distinct_rfc9562_uuid7s() -> None:
    made = new_ids(5000)
    parsed = [uuid.UUID(i) for i in made]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert [str(u) for u in parsed] == made  # canonical lower-case text
    assert len(set(made)) == 5000
    # One clock read: they share the 48-bit timestamp, and the random bits really vary
    # (every value of the two random variant bits and of the first random digit shows up).
    assert len({i[:13] for i in made}) == 1
    assert {i[19] for i in made} == set("89ab")
    assert {i[15] for i in made} == set("0123456789abcdef")


def test_keys_hash_and_match() -> None:
    made = apikeys.generate_key()
    assert apikeys.split_prefix(made.plaintext) == made.prefix
    assert apikeys.is_matching(made.plaintext, made.secret_hash)
    assert not apikeys.is_matching(made.plaintext + "x", made.secret_hash)
    assert made.plaintext not in made.secret_hash


def test_foreign_strings_have_no_prefix() -> None:
    assert apikeys.split_prefix("Bearer something") is None
    assert apikeys.split_prefix("pgk_short_x") is None
