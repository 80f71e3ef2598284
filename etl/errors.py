"""Every error zoom-etl raises on purpose, and the exit code the CLI gives it.

    ZoomEtlError                    base; ``exit_code`` says what the CLI exits with
    ├── ConfigError                 bad settings or usage (exit 2)
    ├── LockedError                 another run holds the warehouse (exit 75)
    ├── ContractError               a table contract is malformed (exit 1)
    ├── WarehouseError              DuckDB could not be opened or written (exit 1)
    ├── DiskSpaceError              not enough free disk for the recording files to download (exit 1)
    └── ApiError                    Zoom answered with an error; carries method, endpoint, status, code
        ├── AuthError               credentials refused or token unusable (HTTP 401/code 124, OAuth errors)
        │   ├── ScopeError          the token lacks a scope (4700/4711): fatal, but for an optional
        │   │                       stream (``Stream.optional``), which is then not synced, and why
        │   └── UntrustedApiUrl     the token's ``api_url`` is not Zoom's while the API base is the
        │                           default (exit 2: set ZOOM_API_URL to trust another host)
        ├── RateLimitError          429 that retries could not get past (daily cap, budget spent)
        ├── TransportError          network failure or 5xx after the bounded retries, or a body not
        │   │                       complete within the request deadline
        │   └── ResponseTooLarge    a body over the size limit (``max_response_mb``); not retried
        ├── ResourceError           one resource is gone or out of reach (404; 1001, 1010, 3000, 3001,
        │                           3161, 12702; 300 on a first page);
        │                           recorded in the run and skipped, never fatal on its own
        └── GraphQLUnavailable      GraphQL cannot serve a stream (free plan, "Cannot query field",
                                    permission, repeated failures): the engine falls back to REST
    PaginationError                 a listing that does not end (a cursor or page token repeated, empty
                                    pages with ever new tokens, pages far beyond ``total_records``):
                                    the listing is stopped and recorded as a skip and a gap

Errors carry their context (stream, endpoint, table, column) in attributes and in ``str()``; they never
carry secrets: request headers and OAuth bodies are not part of any message.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_LOCKED = 75


class ZoomEtlError(Exception):
    """Base of every deliberate zoom-etl error."""

    exit_code: ClassVar[int] = EXIT_FAILED


class ConfigError(ZoomEtlError):
    """A setting is missing or invalid; the message names the setting and where it came from."""

    exit_code = EXIT_USAGE


class LockedError(ZoomEtlError):
    """Another zoom-etl process holds the warehouse lock."""

    exit_code = EXIT_LOCKED


class ContractError(ZoomEtlError):
    """A table contract in ``schemas/tables`` is malformed."""


class WarehouseError(ZoomEtlError):
    """The DuckDB warehouse could not be opened, migrated or written."""


class DiskSpaceError(ZoomEtlError):
    """``recordings download``: the files to fetch would leave less free disk than the margin asked for."""


class ApiError(ZoomEtlError):
    """Zoom answered a request with an error."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        endpoint: str = "",
        status: int | None = None,
        code: int | None = None,
    ) -> None:
        self.method = method
        self.endpoint = endpoint
        self.status = status
        self.code = code
        where = f"{method} {endpoint}".strip()
        details = ", ".join(
            part for part in (f"HTTP {status}" if status else "", f"code {code}" if code else "") if part
        )
        prefix = f"{where}: " if where else ""
        suffix = f" ({details})" if details else ""
        super().__init__(f"{prefix}{message}{suffix}")


class AuthError(ApiError):
    """Credentials refused, or a token Zoom will not accept."""


class ScopeError(AuthError):
    """The token lacks an operation's scope (Zoom's 4700 classic, 4711 granular)."""


class UntrustedApiUrl(AuthError):
    """The token response's ``api_url`` names a host outside Zoom's domains while the API base was left at
    its default: the token is not sent there. A setting fixes it (an explicit ``api_url``), hence exit 2."""

    exit_code = EXIT_USAGE


class RateLimitError(ApiError):
    """Rate limited beyond what retries may wait for (daily cap reached, Heavy budget spent)."""


class TransportError(ApiError):
    """The network failed or Zoom kept answering 5xx after the bounded retries."""


class ResponseTooLarge(TransportError):
    """A response body over ``Settings.max_response_bytes``: the read stopped there; not retried."""


class ResourceError(ApiError):
    """One resource is gone or out of reach (404, 1001, 3001, 3161...: see ``etl.http.client``): recorded
    and skipped."""


class GraphQLUnavailable(ApiError):
    """GraphQL cannot serve this stream; the engine falls back to REST."""


class PaginationError(ZoomEtlError):
    """A listing that would not end: a cursor or page token seen twice, too many empty pages in a row
    with a new token, or pages far beyond what ``total_records`` announced."""
