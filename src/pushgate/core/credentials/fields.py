"""Field rules shared by every provider kind, and the translation of failures into errors.

Each kind's input is a strict pydantic model that forbids unknown keys and bounds every
string (docs/architecture.md §6: every input is bounded). A failure becomes one ``InvalidInput``
whose ``details.field`` names the exact field as ``<kind>.<name>``. No error message ever
quotes the value it rejected, because the value may be a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError

from pushgate.errors import InvalidInput

MAX_ERRORS_REPORTED = 20
# RFC 9110 §5.5: a field value is visible ASCII, spaces and tabs; CR/LF would split headers.
_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?")


class CredentialInput(BaseModel):
    """Base of every kind's input model: strict, closed, and silent about inputs."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)


Model = TypeVar("Model", bound=CredentialInput)


def invalid(kind: str, name: str, reason: str) -> InvalidInput:
    """The error for one bad field, named ``<kind>.<name>``; ``reason`` never holds the value."""
    field = f"{kind}.{name}" if name else kind
    return InvalidInput(
        f"invalid {kind} credentials: {field}: {reason}",
        details={"field": field, "reason": reason, "errors": [{"field": field, "reason": reason}]},
    )


def parse_input(
    model: type[Model], kind: str, raw: object, *, context: dict[str, Any] | None = None
) -> Model:
    """Validate ``raw`` against ``model``, turning pydantic's errors into ``InvalidInput``."""
    if not isinstance(raw, Mapping):
        raise invalid(kind, "", "credentials must be a JSON object")
    try:
        return model.model_validate(dict(raw), context=context)
    except ValidationError as exc:
        # ``from None``: the pydantic error (and its traceback) must not travel with ours.
        raise _from_validation_error(kind, exc) from None


def _from_validation_error(kind: str, exc: ValidationError) -> InvalidInput:
    problems = [
        {
            "field": ".".join([kind, *(str(part) for part in error["loc"])]),
            "reason": _reason(error["type"], error["msg"]),
        }
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ][:MAX_ERRORS_REPORTED]
    first = problems[0]
    return InvalidInput(
        f"invalid {kind} credentials: {first['field']}: {first['reason']}",
        details={"field": first["field"], "reason": first["reason"], "errors": problems},
    )


def _reason(error_type: str, message: str) -> str:
    if error_type == "value_error":
        return message.removeprefix("Value error, ")
    if error_type == "extra_forbidden":
        return "unknown field"
    return message


def matching(pattern: str, description: str) -> AfterValidator:
    """A rule that the whole value matches ``pattern``, explained as "must be <description>".

    Used after a length bound, so the pattern never runs on unbounded input.
    """
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {description}")
        return value

    return AfterValidator(check)


def check_header_value(value: str) -> str:
    """A value that can be sent as one HTTP header field (RFC 9110 §5.5)."""
    if not _HEADER_VALUE.fullmatch(value):
        raise ValueError("must be printable ASCII without line breaks or leading/trailing spaces")
    return value


# Client secrets of WNS and HMS are short; 1 KiB leaves room without inviting abuse.
ClientSecret = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
# A PEM RSA 4096-bit private key is about 3.3 KB; 16 KiB bounds any sane key.
PemText = Annotated[str, StringConstraints(min_length=1, max_length=16 * 1024)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def pem_example(start: str) -> str:
    """A shortened PKCS#8 PEM private key for the schema's examples (not a usable key)."""
    return f"-----BEGIN PRIVATE KEY-----\n{start}...\n-----END PRIVATE KEY-----\n"
