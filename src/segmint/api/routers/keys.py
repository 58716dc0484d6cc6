"""API keys over HTTP (admin scope): the same use case as ``segmint keys``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from segmint.access.keys import create_key, list_keys, revoke_key
from segmint.api.auth import require

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, description="ingest, read and/or admin")


@router.post("", status_code=201)
async def create(request: Request, body: KeyIn, _key=require("admin")) -> dict:
    """Create a key; the token is in this answer only."""
    service = request.app.state.service

    def work():
        key, token = create_key(service.ws.con, body.name, body.scopes)
        service.keys.replace(list_keys(service.ws.con))
        return {**key.public(), "token": token}

    return await service.on_writer(work)


@router.get("")
async def list_(request: Request, _key=require("admin")) -> dict:
    service = request.app.state.service
    return {"keys": [k.public() for k in await service.on_writer(list_keys, service.ws.con)]}


@router.delete("/{key_id}")
async def revoke(request: Request, key_id: str, _key=require("admin")) -> dict:
    service = request.app.state.service

    def work():
        key = revoke_key(service.ws.con, key_id)
        service.keys.replace(list_keys(service.ws.con))
        return key.public()

    return await service.on_writer(work)
