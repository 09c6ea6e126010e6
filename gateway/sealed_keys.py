"""Node keys as the gateway's store keeps them: each secret sealed to the gateway's own X25519
key, exactly as the fleet seals them (protocol/sealed_secrets.py), and opened in memory only.

A copy of ``gateway.db`` (a backup, an SD card read elsewhere) holds no node secret without
the gateway's ``sealing.key`` (docs/security.md, "Hostile node and gateway hardening").
"""

from __future__ import annotations

from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from protocol.sealed_secrets import open_secret, seal_secret, sealed_from_text, sealed_to_text

__all__ = ["KeyRing", "SecretError"]


class SecretError(ValueError):
    """A stored node secret does not open with this gateway's key (another gateway's database,
    or its key file replaced)."""

    HINT = ("restore data_dir/sealing.key, or move gateway.db aside and let the fleet sync "
            "the nodes again")


class KeyRing:
    """Seals and opens the node keys of one gateway; a pure function of values but for the
    cache of opened secrets (an X25519 exchange each: the registry is read at every sync)."""

    def __init__(self, sealing: X25519PrivateKey) -> None:
        self._sealing = sealing
        self._public = sealing.public_key().public_bytes_raw()
        self._opened: dict[str, bytes] = {}  # sealed text -> secret

    def dump(self, node_id: str, keys: dict[int, bytes], expires: dict[int, int]) -> bytes:
        """The JSON column: {key id: {"sealed": base64, "expires": t or null}}."""
        out: dict[str, Any] = {}
        for k, secret in keys.items():
            text = sealed_to_text(seal_secret(self._public, secret, node_id, k))
            self._opened[text] = secret
            out[str(k)] = {"sealed": text, "expires": expires.get(k)}
        return orjson.dumps(out)

    def load(self, node_id: str, column: str | bytes) -> tuple[dict[int, bytes], dict[int, int]]:
        """(keys, expiry times) from the JSON column; SecretError when one does not open."""
        parsed = orjson.loads(column)
        keys = {int(k): self._open(node_id, int(k), v["sealed"]) for k, v in parsed.items()}
        expires = {int(k): int(v["expires"]) for k, v in parsed.items()
                   if v["expires"] is not None}
        return keys, expires

    def keep_only(self, texts: set[str]) -> None:
        """Forget the opened secrets of keys no longer stored."""
        self._opened = {t: s for t, s in self._opened.items() if t in texts}

    @staticmethod
    def sealed_texts(column: str | bytes) -> set[str]:
        return {v["sealed"] for v in orjson.loads(column).values() if isinstance(v, dict)}

    @staticmethod
    def plain(column: str | bytes) -> tuple[dict[int, bytes], dict[int, int]] | None:
        """The keys of a column written by an older gateway ({key id: [secret hex, expires]}),
        or None when the column is sealed."""
        parsed = orjson.loads(column)
        if not any(isinstance(v, list) for v in parsed.values()):
            return None
        return ({int(k): bytes.fromhex(v[0]) for k, v in parsed.items()},
                {int(k): int(v[1]) for k, v in parsed.items() if v[1] is not None})

    def _open(self, node_id: str, key_id: int, text: str) -> bytes:
        secret = self._opened.get(text)
        if secret is None:
            blob = sealed_from_text(text)
            secret = None if blob is None else open_secret(self._sealing, blob, node_id, key_id)
            if secret is None:
                raise SecretError(f"the secret of node {node_id} key {key_id} does not open "
                                  "with this gateway's sealing key")
            self._opened[text] = secret
        return secret
