"""Settings, built once by ``load_settings`` and passed down; nothing reads the environment later.

    model.py   Settings, AccountSettings, Timeouts, Secret and the defaults: the plain values passed down
    load.py    load_settings: flags > environment > TOML file > defaults, accounts resolved per account
    values.py  parsers of single values (numbers, choices, URLs...), each error naming the value's origin

The rules of precedence, accounts, secrets and rate share are in ``etl.config.load``'s docstring.
"""

from etl.config.load import FLAG_NAMES, load_settings
from etl.config.model import (
    DEFAULT_API_URL,
    DEFAULT_CONFIG_FILE,
    DEFAULT_OAUTH_URL,
    LOG_FORMATS,
    PLANS,
    SOURCES,
    AccountSettings,
    Secret,
    Settings,
    Timeouts,
)
from etl.config.values import ZOOM_DOMAINS, check_url, is_loopback, is_zoom_host

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_OAUTH_URL",
    "FLAG_NAMES",
    "LOG_FORMATS",
    "PLANS",
    "SOURCES",
    "ZOOM_DOMAINS",
    "AccountSettings",
    "Secret",
    "Settings",
    "Timeouts",
    "check_url",
    "is_loopback",
    "is_zoom_host",
    "load_settings",
]
