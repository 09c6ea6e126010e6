"""Constrained path and query parameters shared by the routes (bounded before any query)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from fleet.models.common import SLUG_PATTERN

__all__ = ["GatewayIdPath", "IntIdPath", "NodeIdPath", "SlugPath", "SlugQuery", "TextQuery"]

_INT_MAX = 2**31 - 1
SlugPath = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=32)]
NodeIdPath = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=32, description="node id")]
GatewayIdPath = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=32, description="gateway id")]
IntIdPath = Annotated[int, Path(ge=1, le=_INT_MAX)]
SlugQuery = Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=32)]
TextQuery = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
