"""The one error pushgate's API answers with, as an exception."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A non-2xx answer: pushgate's ``{"error": {"code", "message", "details"}}`` body.

    ``retry_after`` is the ``Retry-After`` header in seconds when the answer had one (429
    and 503 answers do), so a caller can wait before sending again.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any],
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after
