"""Zones and sensor profiles: read by viewers, changed by operators."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from fleet.api.deps import LimitDep, OffsetDep, OperatorDep, SessionDep, ViewerDep
from fleet.api.params import SlugPath
from fleet.crud import registry as crud
from fleet.models import (
    Profile,
    ProfileCreate,
    ProfilePublic,
    ProfileUpdate,
    Zone,
    ZoneCreate,
    ZonePublic,
    ZoneUpdate,
)

router = APIRouter(tags=["registry"])


@router.get("/zones", response_model=list[ZonePublic])
def list_zones(
    _: ViewerDep, session: SessionDep, limit: LimitDep, offset: OffsetDep = 0
) -> list[Zone]:
    return crud.list_zones(session, limit=limit, offset=offset)


@router.post("/zones", response_model=ZonePublic, status_code=201)
def create_zone(body: ZoneCreate, principal: OperatorDep, session: SessionDep) -> Zone:
    zone = crud.create_zone(session, data=body, actor=principal.actor)
    session.commit()
    return zone


@router.get("/zones/{zone_id}", response_model=ZonePublic)
def get_zone(zone_id: SlugPath, _: ViewerDep, session: SessionDep) -> Zone:
    zone = session.get(Zone, zone_id)
    if zone is None:
        raise HTTPException(404, "no such zone")
    return zone


@router.patch("/zones/{zone_id}", response_model=ZonePublic)
def update_zone(
    zone_id: SlugPath, body: ZoneUpdate, principal: OperatorDep, session: SessionDep
) -> Zone:
    zone = crud.update_zone(session, zone_id=zone_id, data=body, actor=principal.actor)
    session.commit()
    return zone


@router.get("/profiles", response_model=list[ProfilePublic])
def list_profiles(
    _: ViewerDep, session: SessionDep, limit: LimitDep, offset: OffsetDep = 0
) -> list[Profile]:
    return crud.list_profiles(session, limit=limit, offset=offset)


@router.post("/profiles", response_model=ProfilePublic, status_code=201)
def create_profile(body: ProfileCreate, principal: OperatorDep, session: SessionDep) -> Profile:
    profile = crud.create_profile(session, data=body, actor=principal.actor)
    session.commit()
    return profile


@router.get("/profiles/{profile_id}", response_model=ProfilePublic)
def get_profile(profile_id: SlugPath, _: ViewerDep, session: SessionDep) -> Profile:
    profile = session.get(Profile, profile_id)
    if profile is None:
        raise HTTPException(404, "no such profile")
    return profile


@router.patch("/profiles/{profile_id}", response_model=ProfilePublic)
def update_profile(
    profile_id: SlugPath, body: ProfileUpdate, principal: OperatorDep, session: SessionDep
) -> Profile:
    profile = crud.update_profile(session, profile_id=profile_id, data=body, actor=principal.actor)
    session.commit()
    return profile
