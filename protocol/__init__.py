"""The Territoire wire protocol, CPython side (docs/protocol.md is the specification).

The firmware implements the same protocol once in MicroPython (firmware/proto.py); both are
checked against the vectors in tests/vectors/.
"""
