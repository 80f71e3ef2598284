"""The benchmarks of the quality bars: ``python -m bench`` from the checkout (see README "Benchmarks").

Not part of the shipped package: the wheel carries ``etl`` only, and ``etl`` never imports ``bench``
(pyproject.toml's ``[tool.importlinter]`` checks it). Children run as ``python -m bench.<part>`` or
``python -m etl`` from a scratch directory, so ``checkout_environ`` puts this checkout first on their
``PYTHONPATH``: they find ``bench`` and measure this checkout's ``etl`` even when the virtualenv's
editable install points at another checkout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checkout_environ(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's environment) with this checkout first on ``PYTHONPATH``."""
    base = dict(os.environ if env is None else env)
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH", "")]))
    return base
