"""The one exception type that services raise for a refused operation."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class ApplicationError(Exception):
    """A business rule refused the operation.

    ``message`` is a lazily translated string, so it renders in the language of
    whoever reads it. ``code`` is stable and language-neutral: tests, the API and
    logs use it, never the message text.
    """

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str,
        field: str | None = None,
        **params: Any,
    ) -> None:
        self.message = message
        self.code = code
        #: The form field the error belongs to, so a page can show it next to that field.
        self.field = field
        self.params = params
        super().__init__(code)

    def __str__(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)


class NotFoundOrForbidden(ApplicationError):
    """Raised alike for "does not exist" and "you may not see it", so neither leaks."""
