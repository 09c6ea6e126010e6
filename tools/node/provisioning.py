"""The provisioning file: what ``territoire node provision`` learns from the fleet and the
technician, and what ``node flash`` writes to the board as ``node.json``.

Pure functions of values (claim-code parsing, the node configuration, validation) and two thin
file functions (an atomic 0600 write, a bounded read). The file holds the node's secret: it is
created with mode 0600 and never printed unless asked (``--show-secret``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from protocol.codec import valid_node_id
from protocol.credentials import mqtt_password
from protocol.node_config import HARDWARE, NodeConfigError, validate
from protocol.node_config import SENSOR_KINDS as _KINDS
from tools.fleet_client import ClaimedNode
from tools.node.kinds import KINDS
from tools.outfiles import unwritable, write_atomic
from tools.release.bundle import node_config

__all__ = [
    "SENSOR_KINDS",
    "ProvisioningError",
    "check_provisioning",
    "check_writable_dir",
    "claim_code_from",
    "load_provisioning",
    "make_provisioning",
    "sensors_from_json",
    "write_private",
]

SENSOR_KINDS = frozenset(_KINDS)  # what firmware/sensors/build.py knows how to drive
FORMAT = 1
_MAX_INPUT = 512  # a scanned QR or a typed code; anything longer is not a claim code
_MAX_FILE = 64 * 1024
_MAX_SENSORS = 8
_CODE = re.compile(r"[0-9A-Za-z]{4}(?:[- ]?[0-9A-Za-z]{4}){4}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


class ProvisioningError(ValueError):
    """A claim code, a sensor list or a provisioning file that cannot be used (message says why)."""


def claim_code_from(text: str) -> str:
    """The claim code in what was typed or scanned: the bare code (any case, with or without
    dashes or spaces), or a link carrying it (``...?code=XXXX-...`` or ``.../claim/XXXX-...``),
    as a phone's scanner app may hand over. The fleet normalises confusable letters itself."""
    text = text.strip()
    if not text or len(text) > _MAX_INPUT:
        raise ProvisioningError("a claim code is 20 letters and digits, like 7KQ2-M4XP-...")
    candidates = [text]
    if "://" in text or text.lower().startswith("territoire:"):
        url = urlsplit(text)
        candidates = [v for vs in parse_qs(url.query).values() for v in vs]
        candidates += [url.fragment, url.path.rstrip("/").rsplit("/", 1)[-1]]
    for c in candidates:
        if _CODE.fullmatch(c.strip()):
            return c.strip().upper()
    raise ProvisioningError(
        f"no claim code in {text[:60]!r}: a claim code is 20 letters and digits in groups of "
        "four (7KQ2-M4XP-...), printed under the QR code on the node's label"
    )


def sensors_from_json(raw: bytes) -> list[dict[str, Any]]:
    """A custom sensor list (JSON array of build.py sensor specs), bounded and checked."""
    if len(raw) > _MAX_FILE:
        raise ProvisioningError("the sensor list is larger than 64 KiB")
    try:
        specs = json.loads(raw)
    except ValueError as exc:
        raise ProvisioningError(f"the sensor list is not JSON: {exc}") from None
    if not isinstance(specs, list) or not 1 <= len(specs) <= _MAX_SENSORS:
        raise ProvisioningError(f"the sensor list must be a JSON array of 1 to {_MAX_SENSORS}")
    for i, s in enumerate(specs):
        if not isinstance(s, dict) or s.get("kind") not in SENSOR_KINDS:
            raise ProvisioningError(
                f"sensor {i + 1}: needs a \"kind\" among {', '.join(sorted(SENSOR_KINDS))}"
            )
        for key, value in s.items():
            if not isinstance(key, str) or not isinstance(value, int | float | str | bool):
                raise ProvisioningError(f"sensor {i + 1}: {key!r} must be a number or text")
    return specs


def make_provisioning(
    claimed: ClaimedNode,
    *,
    fleet_url: str,
    gateway_host: str,
    gateway_port: int,
    wifi_ssid: str,
    wifi_key: str,
    kind: str | None,
    sensors: list[dict[str, Any]] | None,
    interval_s: float,
    hw: str = "esp32",
) -> dict[str, Any]:
    """The provisioning document: the node's configuration (node.json) and how it was made.
    ``hw`` is the board's (``emu-x64`` only for an emulated node); the release keys are those
    the fleet trusts, from the claim, so the node accepts the fleet's signed releases."""
    if hw not in HARDWARE:
        raise ProvisioningError(f"unknown hardware {hw!r}: one of {', '.join(HARDWARE)}")
    if not _HOST.fullmatch(gateway_host):
        raise ProvisioningError(f"gateway address {gateway_host!r} is not a host name or IP")
    if not 1 <= gateway_port <= 65535:
        raise ProvisioningError("gateway port must be 1 to 65535")
    if not 1 <= len(wifi_ssid) <= 32 or len(wifi_key) > 63:
        raise ProvisioningError("Wi-Fi: the SSID is 1 to 32 characters, the key at most 63")
    if kind is None and sensors is None and claimed.profile_id in KINDS:
        kind = claimed.profile_id  # the fleet's sensor profile names a standard node kind
    if sensors is None:
        # no wiring known: an empty list, which `node flash` refuses with an explanation (the
        # claim is made by now, and the identity must be saved whatever else is missing)
        sensors = KINDS[kind].sensors if kind in KINDS else []
    battery = kind in KINDS and KINDS[kind].battery
    node = json.loads(node_config(
        node_id=claimed.node_id, key_id=claimed.key_id, secret=claimed.secret,
        mqtt_host=gateway_host, mqtt_port=gateway_port,
        mqtt_password=mqtt_password(claimed.secret), sensors=sensors, zone=claimed.zone_id,
        interval_s=interval_s, wifi={"ssid": wifi_ssid, "key": wifi_key},
        status_s=300, wdt_s=30, battery=battery, hw=hw,
        release_keys=[(int(k["n"], 16), int(k["e"])) for k in claimed.release_keys],
    ))
    return {
        "format": FORMAT,
        "node_id": claimed.node_id,
        "kind": kind,
        "profile_id": claimed.profile_id,
        "gateway_id": claimed.gateway_id,
        "fleet": fleet_url,
        "node": node,
    }


def check_provisioning(doc: object, source: str) -> dict[str, Any]:
    """The provisioning document, or ProvisioningError saying what is wrong with it."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProvisioningError(f"{source} is not a provisioning file (from `node provision`)")
    node = doc.get("node")
    if not isinstance(node, dict):
        raise ProvisioningError(f"{source}: no node configuration in it")
    node_id, secret = node.get("id"), node.get("secret")
    if not valid_node_id(node_id) or node_id != doc.get("node_id"):
        raise ProvisioningError(f"{source}: bad node id {node_id!r}")
    if not isinstance(secret, str) or not re.fullmatch(r"[0-9a-f]{64}", secret):
        raise ProvisioningError(f"{source}: the node secret is missing or damaged")
    mqtt = node.get("mqtt")
    if not isinstance(mqtt, dict) or not isinstance(mqtt.get("host"), str):
        raise ProvisioningError(f"{source}: no gateway address")
    if not isinstance(node.get("sensors"), list) or not isinstance(node.get("kid"), int):
        raise ProvisioningError(f"{source}: the sensor list or key id is missing")
    try:
        validate(node)  # the node's own check (protocol/node_config.py), before any flashing
    except NodeConfigError as exc:
        raise ProvisioningError(f"{source}: the node configuration is damaged: {exc}") from None
    return doc


def load_provisioning(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_FILE + 1)
    except FileNotFoundError:
        raise ProvisioningError(
            f"no provisioning file {path}: provision the node first "
            "(territoire node provision --code ...)"
        ) from None
    except OSError as exc:
        raise ProvisioningError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > _MAX_FILE:
        raise ProvisioningError(f"{path} is larger than a provisioning file can be")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise ProvisioningError(f"{path} is not a provisioning file (not JSON)") from None
    return check_provisioning(doc, str(path))


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically (temporary file, then rename)."""
    write_atomic(path, data, 0o600)


def check_writable_dir(directory: Path, what: str) -> None:
    """ProvisioningError unless ``directory`` can be made (if missing) and written.

    Probes with a real file in the nearest existing ancestor, creating no directory (a failed
    claim leaves nothing behind), rather than ``os.access``, which answers yes to root whatever
    the filesystem says (a read-only mount, a file where a directory should be)."""
    why = unwritable(directory)
    if why is not None:
        raise ProvisioningError(f"cannot write {what} in {directory}: {why}; choose another "
                                "--out")
