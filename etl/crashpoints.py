"""Named crash points: the reliability suite kills a sync (or an export) with SIGKILL at a chosen point.

Code that commits state calls ``crashpoints.reach("load.after_tables")`` at the moments where a crash is
most likely to expose a bug (between rows and their state, between a history row closed and its successor
opened, between an export and its swap). A test sets ``ZOOM_ETL_CRASH_AT=<name>`` (or ``<name>:<n>``, the
n-th time the point is reached) in a child process's environment; the child then kills itself with
SIGKILL there: no ``finally``, no ``atexit``, no flush, exactly what ``kill -9`` or the OOM killer does.

Why self-inflicted instead of a signal from outside: an outside kill lands wherever the child happens to be,
so a test could not promise that it covered "between a batch and its state". The suite does both.

``ZOOM_ETL_FAIL_AT=<name>[:<n>]`` arms the same points for a failure instead of a kill: the n-th visit
raises ``InjectedFailure`` (an ``OSError`` ENOSPC, as a full disk would), and every later visit too (a
full disk stays full). It tests what a process does with an error it lives through: a load failing on
the loader thread while every stream is still downloading must end the run (exit 1, lock released).

Cost when unset: the variables are read once, at import; ``reach`` is then one comparison with ``None``.

The points (grep ``crashpoints.reach`` for where they are):

    pipeline.event              every extraction event the pipeline receives (use ``:n`` to pick one)
    pipeline.before_analytics   all accounts synced, analytics views not yet refreshed
    pipeline.before_finish      analytics refreshed, the run's row not yet closed
    load.begin                  a batch transaction opened, nothing written yet
    load.after_raw              raw pages written, core tables not yet
    load.after_tables           core and history rows written, their checkpoints (state) not yet
    load.after_state            checkpoints written, transaction not yet committed
    load.after_commit           a batch committed, the next not yet begun
    upsert.after_replace        a core table upserted, its history not yet versioned
    history.after_close         current history versions closed, their successors not yet inserted
    export.after_table          one table exported (Parquet: staged; Delta: committed, manifest not written)
    export.before_swap          Parquet: every table staged, no account's journal written yet
    export.mid_swap             Parquet: an account's journal written, one more of its folders swapped in
"""

from __future__ import annotations

import errno
import os
import signal
import threading

ENV = "ZOOM_ETL_CRASH_AT"
FAIL_ENV = "ZOOM_ETL_FAIL_AT"
POINTS = (
    "pipeline.event",
    "pipeline.before_analytics",
    "pipeline.before_finish",
    "load.begin",
    "load.after_raw",
    "load.after_tables",
    "load.after_state",
    "load.after_commit",
    "upsert.after_replace",
    "history.after_close",
    "export.after_table",
    "export.before_swap",
    "export.mid_swap",
)


class InjectedFailure(OSError):
    """The failure ``ZOOM_ETL_FAIL_AT`` injects: "No space left on device" at a named point."""


def parse(value: str | None, env: str = ENV) -> tuple[str, int] | None:
    """``"name"`` or ``"name:n"`` → (name, n); None or ``""`` → None. Unknown names are refused, so a
    typo in a test fails loudly instead of silently never crashing."""
    if not value:
        return None
    name, _, count = value.partition(":")
    if name not in POINTS:
        raise ValueError(f"{env}={value!r}: unknown crash point; known: {', '.join(POINTS)}")
    try:
        n = int(count) if count else 1
    except ValueError:
        raise ValueError(f"{env}={value!r}: the count after ':' must be an integer") from None
    if n < 1:
        raise ValueError(f"{env}={value!r}: the count must be >= 1")
    return name, n


_TARGET = parse(os.environ.get(ENV))
_FAIL = parse(os.environ.get(FAIL_ENV), FAIL_ENV)
_lock = threading.Lock()
_seen = 0
_failing = 0


def reach(name: str) -> None:
    """Kill this process with SIGKILL if ``name`` is the armed crash point and this is its n-th visit;
    raise ``InjectedFailure`` if it is the armed failure point, from its n-th visit on."""
    if _FAIL is not None and name == _FAIL[0]:
        global _failing
        with _lock:
            _failing += 1
            if _failing >= _FAIL[1]:
                raise InjectedFailure(errno.ENOSPC, f"No space left on device (injected at {name})")
    if _TARGET is None or name != _TARGET[0]:
        return
    global _seen
    with _lock:
        _seen += 1
        if _seen >= _TARGET[1]:
            os.kill(os.getpid(), signal.SIGKILL)
