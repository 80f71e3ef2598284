"""Zoom's webhook signature and URL-validation answer, as pure functions over bytes.

Zoom signs ``v0:{x-zm-request-timestamp}:{raw body}`` with HMAC-SHA256 keyed by the app's secret token,
hex-encodes it and prefixes ``v0=``. The raw body is what is signed: re-serializing parsed JSON in Python
changes separators and escapes, hence the bytes and the signature. ``endpoint.url_validation`` is
answered with ``{"plainToken": p, "encryptedToken": hex(HMAC-SHA256(secret, p))}``.
"""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``x-zm-signature`` header value Zoom sends for ``body`` at ``timestamp`` (Unix seconds)."""
    message = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Constant-time comparison of ``signature`` with the expected one."""
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode("utf-8", "replace"))


def url_validation(secret: str, plain_token: str) -> dict[str, str]:
    """The body answering Zoom's ``endpoint.url_validation`` challenge."""
    encrypted = hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}
