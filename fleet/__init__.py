"""Territoire fleet service: registry, keys, gateways, telemetry, open data (docs/fleet.md)."""
