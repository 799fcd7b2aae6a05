"""Who receives a notification: one audience of one kind, a tagged union.

Each kind is its own model with a ``kind`` tag, so code that chooses by kind matches on
the model and ends in ``assert_never``: a kind a branch forgets fails ``mypy``, and
"everyone" is a branch of its own, never what is left over.

The API and the stored notification row name the kind by its one key
(``{"users": [...]}``, ``{"everyone": true}``); an explicit ``"kind"`` may be given as
well and must agree with that key. The stored form has no ``kind``, as rows written
before it existed have none, so every row reads alike.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StringConstraints, Tag, TypeAdapter, field_validator

from pushgate.core import tagexpr
from pushgate.core.inputs import ExternalId, Strict, Topic

MAX_USERS = 10_000
MAX_DEVICES = 10_000
MAX_TOPICS = 64

ShortText = Annotated[str, StringConstraints(max_length=256)]
KINDS = ("users", "user_aliases", "devices", "topics", "tags", "everyone")
_ONE_KIND = (
    "name exactly one of users, user_aliases, devices, topics, tags, everyone "
    "(and a kind, if given, that agrees with it)"
)


class UsersAudience(Strict):
    """Every active device of these users, by external id."""

    kind: Literal["users"] = "users"
    users: Annotated[list[ExternalId], Field(min_length=1, max_length=MAX_USERS)]


class UserAliasesAudience(Strict):
    """The users with these aliases in the app."""

    kind: Literal["user_aliases"] = "user_aliases"
    user_aliases: Annotated[list[ExternalId], Field(min_length=1, max_length=MAX_USERS)]


class DevicesAudience(Strict):
    """These devices, each named by pushgate id or by provider token."""

    kind: Literal["devices"] = "devices"
    devices: Annotated[list[ShortText], Field(min_length=1, max_length=MAX_DEVICES)]


class TopicsAudience(Strict):
    """Devices subscribed to any of these topics."""

    kind: Literal["topics"] = "topics"
    topics: Annotated[list[Topic], Field(min_length=1, max_length=MAX_TOPICS)]


class TagsAudience(Strict):
    """Devices whose tags match a tag expression such as ``(sports && !football) || news``."""

    kind: Literal["tags"] = "tags"
    tags: Annotated[str, StringConstraints(min_length=1, max_length=tagexpr.MAX_LENGTH)]

    @field_validator("tags")
    @classmethod
    def _parses(cls, value: str) -> str:
        tagexpr.parse(value)  # raises InvalidInput with the reason
        return value


class EveryoneAudience(Strict):
    """Every active device of the app: only ever asked for by name, ``"everyone": true``."""

    kind: Literal["everyone"] = "everyone"
    everyone: Literal[True]


def _kind_of(value: Any) -> str | None:
    """The tag of an input: its one audience key (agreeing with ``kind`` if given), or
    None, which pydantic reports as ``_ONE_KIND``."""
    if not isinstance(value, dict):
        return getattr(value, "kind", None)  # a model already built
    named = [key for key in KINDS if key in value]
    if len(named) != 1 or value.get("kind", named[0]) != named[0]:
        return None
    return named[0]


Audience = Annotated[
    Annotated[UsersAudience, Tag("users")]
    | Annotated[UserAliasesAudience, Tag("user_aliases")]
    | Annotated[DevicesAudience, Tag("devices")]
    | Annotated[TopicsAudience, Tag("topics")]
    | Annotated[TagsAudience, Tag("tags")]
    | Annotated[EveryoneAudience, Tag("everyone")],
    Discriminator(_kind_of, custom_error_type="audience_kind", custom_error_message=_ONE_KIND),
]
_AUDIENCE: TypeAdapter[Audience] = TypeAdapter(Audience)


def parse_audience(value: dict[str, Any]) -> Audience:
    """An audience from its API or stored form; raises pydantic's ``ValidationError``."""
    return _AUDIENCE.validate_python(value)


def stored_audience(audience: Audience) -> dict[str, Any]:
    """The form a notification row keeps (and the API shows): the kind's one key."""
    return audience.model_dump(mode="json", exclude={"kind"})
