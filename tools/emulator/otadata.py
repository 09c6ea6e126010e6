"""The ESP-IDF bootloader's choice of app partition, with app rollback enabled.

State (the node's `ota.json`, written by the VM's esp32.Partition and by this bootloader):
``{"boot": label, "run": label, "st": {label: state}}`` with the image states of ESP-IDF's
otadata: "new" (set_boot() on a freshly written image), "pending" (booted once on trial),
"valid" (the app called mark_app_valid_cancel_rollback()), "aborted"; a missing state is an
image flashed by esptool, which the bootloader trusts.
"""

from __future__ import annotations

from typing import Any

__all__ = ["APP_SLOTS", "select_boot"]

APP_SLOTS = ("ota_0", "ota_1")
_UNBOOTABLE = ("aborted", "invalid")


def _other(label: str) -> str:
    return APP_SLOTS[1] if label == APP_SLOTS[0] else APP_SLOTS[0]


def select_boot(state: dict[str, Any]) -> dict[str, Any]:
    """The state after the bootloader ran: which partition runs now, image states updated."""
    boot = str(state.get("boot", APP_SLOTS[0]))
    states: dict[str, str] = dict(state.get("st", {}))
    mine = states.get(boot)
    if mine == "new":
        # first boot of a new image: on trial until the app confirms it
        states[boot] = "pending"
    elif mine == "pending" or mine in _UNBOOTABLE:
        # the trial boot ended without confirmation: roll back
        if mine == "pending":
            states[boot] = "aborted"
        previous = _other(boot)
        if states.get(previous) not in _UNBOOTABLE:
            boot = previous
    return {"boot": boot, "run": boot, "st": states}
