"""Reading the gateway's one TOML file into :class:`gateway.config.Settings`: every key known,
every value of its section's type, unknown keys refused by name; and what the file names on
disk, checked before a gateway starts.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from gateway.config import ConfigError, Settings
from protocol.zones import load_zones_file

__all__ = ["check_files", "load_settings"]


def _build(cls: type[Any], raw: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, given in raw.items():
        value = given
        f = known.get(key)
        if f is None:
            raise ConfigError(f"unknown setting {where}{key}")
        default = getattr(cls(), key)
        if is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}{key} must be a table")
            kwargs[key] = _build(type(default), value, f"{where}{key}.")
        else:
            expected = type(default)
            ok = isinstance(value, expected) and not (
                isinstance(value, bool) and expected is not bool
            )
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value, ok = float(value), True
            if not ok:
                raise ConfigError(
                    f"{where}{key} must be {expected.__name__}, not {type(value).__name__}"
                )
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"{where}{key} must not be negative")
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except ValueError as exc:  # a section's own bounds (privacy, aggregation)
        raise ConfigError(f"{where.rstrip('.') or 'settings'}: {exc}") from None


def load_settings(path: Path) -> Settings:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    settings: Settings = _build(Settings, raw, "")
    return settings


def check_files(settings: Settings) -> None:
    """What the configuration names on disk, checked before a gateway starts (a workstation
    reading the same file for `node monitor` need not have them)."""
    if settings.publish.zones_file:
        # a bad zones file stops the gateway at start, named, not at its first publication
        try:
            load_zones_file(Path(settings.publish.zones_file))
        except ValueError as exc:
            raise ConfigError(f"publish.zones_file: {exc}") from None
