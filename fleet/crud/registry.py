"""Zones and sensor profiles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypeVar

from sqlmodel import Session, SQLModel, col, select

from fleet.crud import audit
from fleet.crud.errors import Conflict, NotFound
from fleet.models import Profile, ProfileCreate, ProfileUpdate, Zone, ZoneCreate, ZoneUpdate
from fleet.models.registry import ZoneBase

__all__ = [
    "ZONE_IMPORT_FIELDS",
    "ZoneAction",
    "create_profile",
    "create_zone",
    "import_zones",
    "list_profiles",
    "list_zones",
    "update_profile",
    "update_zone",
    "zone_import_plan",
]

T = TypeVar("T", Zone, Profile)


def _create(session: Session, model: type[T], data: SQLModel, actor: str, kind: str) -> T:
    obj = model.model_validate(data)
    if session.get(model, obj.id) is not None:
        raise Conflict(f"{kind} {obj.id} exists")
    session.add(obj)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"{kind}.create",
        entity_type=kind,
        entity_id=obj.id,
        after=obj,
    )
    return obj


def _update(
    session: Session, model: type[T], obj_id: str, data: SQLModel, actor: str, kind: str
) -> T:
    obj = session.get(model, obj_id)
    if obj is None:
        raise NotFound(f"no such {kind}")
    before = obj.model_dump()
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(obj, key, value)
    session.add(obj)
    audit.record(
        session,
        actor=actor,
        action=f"{kind}.update",
        entity_type=kind,
        entity_id=obj_id,
        before=before,
        after=obj,
    )
    return obj


def create_zone(session: Session, *, data: ZoneCreate, actor: str) -> Zone:
    return _create(session, Zone, data, actor, "zone")


def update_zone(session: Session, *, zone_id: str, data: ZoneUpdate, actor: str) -> Zone:
    return _update(session, Zone, zone_id, data, actor, "zone")


def list_zones(session: Session, *, limit: int, offset: int) -> list[Zone]:
    return list(session.exec(select(Zone).order_by(col(Zone.id)).offset(offset).limit(limit)))


def create_profile(session: Session, *, data: ProfileCreate, actor: str) -> Profile:
    return _create(session, Profile, data, actor, "profile")


def update_profile(
    session: Session, *, profile_id: str, data: ProfileUpdate, actor: str
) -> Profile:
    return _update(session, Profile, profile_id, data, actor, "profile")


def list_profiles(session: Session, *, limit: int, offset: int) -> list[Profile]:
    q = select(Profile).order_by(col(Profile.id)).offset(offset).limit(limit)
    return list(session.exec(q))


ZoneAction = Literal["created", "updated", "unchanged"]
# what an import of a zones file sets on a zone that exists (as `territoire zones import`)
ZONE_IMPORT_FIELDS = ("name", "description", "lat", "lon", "boundary")


def zone_import_plan(
    existing: Mapping[str, ZoneBase], zones: Sequence[ZoneCreate]
) -> list[tuple[ZoneCreate, ZoneAction]]:
    """What importing ``zones`` does to each: created, updated (a field differs) or unchanged.
    ``existing``: the database's zones, or the API's (the CLI's import asks the same)."""
    plan: list[tuple[ZoneCreate, ZoneAction]] = []
    for z in zones:
        old = existing.get(z.id)
        if old is None:
            plan.append((z, "created"))
        elif all(getattr(old, k) == getattr(z, k) for k in ZONE_IMPORT_FIELDS):
            plan.append((z, "unchanged"))
        else:
            plan.append((z, "updated"))
    return plan


def import_zones(
    session: Session, *, zones: Sequence[ZoneCreate], actor: str, apply: bool
) -> list[tuple[ZoneCreate, ZoneAction]]:
    """Create or update the zones of a checked file (each audited as POST or PATCH /zones
    would); with ``apply`` False, only say what would be done. The caller commits."""
    ids = [z.id for z in zones]
    found = session.exec(select(Zone).where(col(Zone.id).in_(ids))).all()
    plan = zone_import_plan({z.id: z for z in found}, zones)
    if apply:
        for z, action in plan:
            if action == "created":
                create_zone(session, data=z, actor=actor)
            elif action == "updated":
                change = ZoneUpdate.model_validate({k: getattr(z, k) for k in ZONE_IMPORT_FIELDS})
                update_zone(session, zone_id=z.id, data=change, actor=actor)
    return plan
