"""API keys over HTTP (admin scope): the same use case as ``segmint keys``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from segmint.api.auth import require

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, description="ingest, read and/or admin")


@router.post("", status_code=201)
async def create(request: Request, body: KeyIn, _key=require("admin")) -> dict:
    """Create a key; the token is in this answer only."""
    key, token = await request.app.state.service.create_key(body.name, body.scopes)
    return {**key.public(), "token": token}


@router.get("")
async def list_(request: Request, _key=require("admin")) -> dict:
    return {"keys": [k.public() for k in await request.app.state.service.list_keys()]}


@router.delete("/{key_id}")
async def revoke(request: Request, key_id: str, _key=require("admin")) -> dict:
    return (await request.app.state.service.revoke_key(key_id)).public()
