"""The one error REST handlers raise: Zoom's ``{"code": ..., "message": ...}`` body with its HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    """A Zoom API error answer (not a bug): HTTP ``status``, Zoom error ``code`` and ``message``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message}
