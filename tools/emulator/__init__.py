"""Hardware-in-the-loop emulation of ESP32 nodes: the real MicroPython VM on an emulated board.

``EmulatedNode`` runs one node (flash image, reset/deep-sleep/watchdog supervisor, console log);
``LinkProxy`` plays its Wi-Fi link in front of the broker. The board itself (the machine,
network, esp32 and bluetooth modules that run inside the VM) is in ``tools/emulator/board/``.
"""

from tools.emulator.flashfs import BLOCK_SIZE, FLASH_SIZE
from tools.emulator.linkproxy import LinkProxy
from tools.emulator.node import EmulatedNode, NodeError
from tools.emulator.nodedir import Exit, ResetCause, WakeReason
from tools.emulator.vm import BOARD_DIR

__all__ = [
    "BLOCK_SIZE",
    "BOARD_DIR",
    "FLASH_SIZE",
    "EmulatedNode",
    "Exit",
    "LinkProxy",
    "NodeError",
    "ResetCause",
    "WakeReason",
]
