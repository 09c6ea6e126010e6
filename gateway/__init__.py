"""Territoire gateway: verify, aggregate, anonymize, store and forward node readings."""
