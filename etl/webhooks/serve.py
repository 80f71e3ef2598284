"""Running the receiver on uvicorn: in the foreground (``zoom-etl webhooks serve``) or on a thread
(tests, the benchmark).

Why uvicorn: the receiver is one small ASGI app whose hard requirement is answering within Zoom's three
seconds behind a TLS-terminating reverse proxy. uvicorn is the most widely deployed ASGI server, runs on
pure-Python h11 here (no compiled extension needed), handles ``X-Forwarded-For``/``-Proto`` from trusted
proxies (``--forwarded-allow-ips``), caps concurrency, drains in-flight requests on SIGTERM, and
several receivers may share one spool. Hypercorn adds HTTP/2 and HTTP/3, which Zoom's
deliveries do not use; granian is faster, but a Rust build whose speed a few deliveries a second never
need. TLS belongs to the proxy (nginx, Caddy, a load balancer): Zoom requires a CA-signed certificate on
a public name, which the proxy holds.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from etl.webhooks.receiver import Receiver


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8740
    proxy_headers: bool = True
    forwarded_allow_ips: str = "127.0.0.1"  # the reverse proxy's address(es), comma-separated, or "*"
    root_path: str = ""  # the prefix a proxy strips, if it mounts the receiver below a path
    limit_concurrency: int | None = 200  # beyond this, 503 at once (Zoom retries 5xx) instead of queueing
    timeout_keep_alive: int = 5


def _config(app: Receiver | str, options: ServeOptions, *, log_level: str = "info") -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        proxy_headers=options.proxy_headers,
        forwarded_allow_ips=options.forwarded_allow_ips,
        root_path=options.root_path,
        limit_concurrency=options.limit_concurrency,
        timeout_keep_alive=options.timeout_keep_alive,
        lifespan="on",
        http="h11",
        loop="asyncio",
        log_config=None,  # our logging setup (``etl.logs``) formats uvicorn's records too
        access_log=False,  # the receiver logs one line per delivery itself, never a header
        server_header=False,
        log_level=log_level,
    )


def serve(app: Receiver, options: ServeOptions) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn drains in-flight requests first), then exit 0: uvicorn
    raises the signal again once it has stopped, and this handler turns SIGTERM into a clean exit."""
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.Server(_config(app, options)).run()


def _stopped(*_: object) -> None:
    raise SystemExit(0)


class RunningReceiver:
    """The receiver on a thread, on a socket bound before it starts (port 0 picks a free one)."""

    def __init__(self, app: Receiver, options: ServeOptions = ServeOptions(port=0)) -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((options.host, options.port))
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://{options.host}:{self.port}{app.options.path}"
        self._server = uvicorn.Server(_config(app, options, log_level="warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="webhooks", daemon=True
        )

    def start(self, timeout: float = 10.0) -> RunningReceiver:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the webhook receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> RunningReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
