"""An emulated Raspberry Pi userland (Debian bookworm arm64, Python 3.11, the gateway's
dependencies as aarch64 wheels) in which the gateway runs under qemu-user: see docs/hil.md."""

from tools.pi_image.image import PiImage, ensure_image, image_key, python_env, stage_gateway
from tools.pi_image.spec import BOOKWORM, ImageError, Target

__all__ = ["BOOKWORM", "ImageError", "PiImage", "Target", "ensure_image", "image_key",
           "python_env", "stage_gateway"]
