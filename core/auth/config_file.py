"""``~/.databrickscfg`` profiles (INI), read the way the databricks-sdk reads them.

``[DEFAULT]`` is a profile of its own: its keys do not leak into other sections.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from core.errors import ConfigurationError

DEFAULT_PATH = "~/.databrickscfg"
KEYS = ("host", "token", "client_id", "client_secret", "auth_type")


def config_path(config_file: str | None) -> Path:
    raw = config_file or os.environ.get("DATABRICKS_CONFIG_FILE") or DEFAULT_PATH
    return Path(raw).expanduser()


def load_profile(config_file: str | None, profile: str | None, *, required: bool) -> dict[str, str]:
    """The profile's keys (only the ones we use, empty values dropped).

    ``required`` (the profile was named explicitly): a missing file or section is an error.
    Otherwise a missing file or ``[DEFAULT]`` section is just "nothing configured here".
    """
    path = config_path(config_file)
    name = profile or "DEFAULT"
    if not path.is_file():
        if required:
            raise ConfigurationError(
                f"profile {name!r} was requested but the config file {path} does not exist"
            )
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigurationError(f"cannot parse the Databricks config file {path}: {exc}") from None
    if name == "DEFAULT":
        section = dict(parser.defaults())
        if not section and required and not parser.has_section("DEFAULT"):
            raise ConfigurationError(f"profile 'DEFAULT' not found in {path}")
    else:
        sections = parser._sections  # type: ignore[attr-defined]  # raw, no DEFAULT merge
        if name not in sections:
            if required:
                available = ", ".join(sorted(sections)) or "none"
                raise ConfigurationError(
                    f"profile {name!r} not found in {path} (profiles there: {available})"
                )
            return {}
        section = dict(sections[name])
    return {k: v.strip() for k, v in section.items() if k in KEYS and v and v.strip()}
