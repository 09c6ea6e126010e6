"""Broker credentials derived from a node's secret, so provisioning hands out one secret only.

The MQTT password is not the secret: it travels to the broker at every connection (in clear on
a link without TLS), so it is a one-way derivation that reveals nothing of the signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["mqtt_password"]


def mqtt_password(secret: bytes) -> str:
    raw = hmac.new(secret, b"territoire/v1 mqtt password", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw[:24]).decode()
