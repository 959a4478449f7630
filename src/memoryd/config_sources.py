"""Where the settings come from besides arguments: the config file and ``MEMORYD_*`` variables.

:func:`config_file` finds the TOML file (``MEMORYD_CONFIG`` or the default
path; only the default may be absent), :class:`ConfigFileSource` reads it for
:class:`memoryd.config.Settings` and refuses keys that are no setting
(:func:`check_config_keys`), and :func:`warn_unknown_env` logs ``MEMORYD_*``
variables that look like misspelt settings.
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import platformdirs
from pydantic_settings import BaseSettings, TomlConfigSettingsSource

from memoryd.errors import ConfigError
from memoryd.paths import check_user_file

__all__ = [
    "NON_SETTING_ENV",
    "ConfigFileSource",
    "check_config_keys",
    "config_file",
    "default_config_path",
    "warn_unknown_env",
]

#: ``MEMORYD_*`` variables memoryd reads that are no settings (the config file, the CLI's daemon).
NON_SETTING_ENV = frozenset({"MEMORYD_CONFIG", "MEMORYD_URL", "MEMORYD_TOKEN"})
#: How close (difflib ratio) an unknown ``MEMORYD_*`` variable must be to a setting to warn.
_ENV_TYPO_CUTOFF = 0.75

_log = logging.getLogger(__name__)
_warned_env: set[str] = set()


def default_config_path() -> Path:
    """``$MEMORYD_CONFIG`` or ``<user config dir>/memoryd/config.toml``."""
    env = os.environ.get("MEMORYD_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("memoryd")) / "config.toml"


def config_file() -> Path | None:
    """The config file to read (:func:`default_config_path`), or ``None``.

    ``None`` only when ``MEMORYD_CONFIG`` is unset (or empty) and the default
    file is absent: a file the operator named must be there.

    Raises:
        InvalidPath: ``MEMORYD_CONFIG`` names a missing file (reason
            ``missing``), or the file is a folder, a FIFO/device, unreadable,
            or its path is malformed (``details['reason']``, purpose ``config``).
    """
    path = default_config_path()
    if not os.environ.get("MEMORYD_CONFIG"):
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None  # absent, or a parent is a file: there is no such config file
        except (OSError, ValueError):
            pass  # unreadable, a NUL byte...: check_user_file names the problem
    return check_user_file(path, purpose="config")


def check_config_keys(data: Mapping[str, Any], path: Path, known: Collection[str]) -> None:
    """Refuse keys of the config file at ``path`` (parsed into ``data``) not in ``known``.

    Keys match case-insensitively, as :class:`memoryd.config.Settings` reads
    them (``Port`` is ``port``). Settings are top-level keys, so a table
    (``[daemon]``) is an unknown key too; the message says so and names the
    settings found inside it.

    Raises:
        ConfigError: ``details``: ``path``, ``keys`` (the unknown keys, sorted)
            and ``nearest`` (unknown key -> the closest setting, when one is close).
    """
    names = {name.lower() for name in known}
    unknown = sorted(key for key in data if key.lower() not in names)
    if not unknown:
        return
    nearest: dict[str, str] = {}
    problems = []
    for key in unknown:
        value = data[key]
        if isinstance(value, dict):
            inner = sorted(key for key in value if key.lower() in names)
            hint = f"; move {', '.join(inner)} to the top level" if inner else ""
            problems.append(f"[{key}] (settings are top-level keys, not tables{hint})")
            continue
        match = difflib.get_close_matches(key, known, n=1)
        if match:
            nearest[key] = match[0]
        problems.append(f"{key!r}" + (f" (did you mean {match[0]!r}?)" if match else ""))
    noun = "key" if len(unknown) == 1 else "keys"
    raise ConfigError(
        f"config file {path}: unknown {noun} {', '.join(problems)}",
        path=str(path),
        keys=unknown,
        nearest=nearest,
    )


def warn_unknown_env(environ: Mapping[str, str], known: Collection[str]) -> list[str]:
    """Log a warning for each ``MEMORYD_*`` variable that looks like a misspelt setting.

    Only variables close to a setting's name (``MEMORYD_PROT`` -> ``MEMORYD_PORT``)
    warn, each once per process; others (``MEMORYD_TEST_*``, ``MEMORYD_BENCH_*``,
    :data:`NON_SETTING_ENV`) are left alone: other tools share the prefix.

    Returns:
        the variables warned about by this call.
    """
    warned = []
    for name in sorted(environ):
        upper = name.upper()
        field = upper.removeprefix("MEMORYD_").lower()
        if (
            not upper.startswith("MEMORYD_")
            or upper in NON_SETTING_ENV
            or field in known
            or name in _warned_env
        ):
            continue
        match = difflib.get_close_matches(field, known, n=1, cutoff=_ENV_TYPO_CUTOFF)
        if match:
            _warned_env.add(name)
            warned.append(name)
            _log.warning(
                "environment variable %s is no memoryd setting (ignored); did you mean %s?",
                name,
                f"MEMORYD_{match[0].upper()}",
            )
    return warned


class ConfigFileSource(TomlConfigSettingsSource):
    """The TOML config file, refusing keys that are not settings (:func:`check_config_keys`)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        try:
            super().__init__(settings_cls, toml_file=path)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"config file {path} is not valid TOML: {exc}", path=str(path)
            ) from exc
        check_config_keys(self.toml_data, path, settings_cls.model_fields)
