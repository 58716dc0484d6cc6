"""API keys: create, list, revoke and check them.

A key is shown once, at creation: ``sgm_<key_id>_<secret>``. Only the sha256 of the whole token is stored,
so a leaked database does not leak usable keys. Checking reads the key id from the token, fetches that one
record and compares digests with :func:`hmac.compare_digest`, so the time taken does not tell an attacker
how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import ibis
import pyarrow as pa

from segmint.core.schema import API_KEYS
from segmint.errors import SegmintError

__all__ = ["SCOPES", "ApiKey", "ApiKeyError", "KeyRing", "create_key", "list_keys", "revoke_key"]

SCOPES = ("ingest", "read", "admin")
PREFIX = "sgm_"


class ApiKeyError(SegmintError):
    """A key request that cannot be honoured (unknown scope, unknown key)."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[str]
    token_sha256: str
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        """``admin`` may do everything; otherwise the scope must be granted."""
        return self.revoked_at is None and (scope in self.scopes or "admin" in self.scopes)

    def public(self) -> dict:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(scopes: str | list[str] | tuple[str, ...]) -> frozenset[str]:
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    out = frozenset(s.strip().lower() for s in items if s.strip())
    unknown = sorted(out - set(SCOPES))
    if unknown or not out:
        raise ApiKeyError(f"unknown scope(s) {', '.join(unknown) or '(none)'}: use {', '.join(SCOPES)}")
    return out


def create_key(con: ibis.BaseBackend, name: str, scopes: str | list[str]) -> tuple[ApiKey, str]:
    """Create and store a key; return it with its token (the only time the token exists in clear)."""
    granted = parse_scopes(scopes)
    key_id = secrets.token_hex(6)
    token = f"{PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
    key = ApiKey(key_id, name, granted, digest(token), _now())
    row = {
        "key_id": key.key_id,
        "name": key.name,
        "scopes": ",".join(sorted(granted)),
        "token_sha256": key.token_sha256,
        "created_at": key.created_at,
        "revoked_at": None,
    }
    schema = API_KEYS.schema.to_pyarrow()
    con.insert(API_KEYS.name, pa.Table.from_pylist([row], schema=schema))
    return key, token


def list_keys(con: ibis.BaseBackend) -> list[ApiKey]:
    rows = con.table(API_KEYS.name).order_by("created_at").to_pyarrow().to_pylist()
    return [
        ApiKey(
            r["key_id"],
            r["name"] or "",
            frozenset((r["scopes"] or "").split(",")) - {""},
            r["token_sha256"] or "",
            r["created_at"],
            r["revoked_at"],
        )
        for r in rows
    ]


def revoke_key(con: ibis.BaseBackend, key_id: str) -> ApiKey:
    keys = {k.key_id: k for k in list_keys(con)}
    if key_id not in keys:
        raise ApiKeyError(f"no API key {key_id!r}: `segmint keys list` shows the key ids")
    when = _now()
    table = con.table(API_KEYS.name)
    updated = table.mutate(
        revoked_at=ibis.ifelse(
            (table.key_id == key_id) & table.revoked_at.isnull(), ibis.literal(when), table.revoked_at
        )
    ).to_pyarrow()
    con.create_table(API_KEYS.name, updated, overwrite=True)
    return next(k for k in list_keys(con) if k.key_id == key_id)


class KeyRing:
    """The keys a running service checks requests against, held in memory and reloaded on change."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._by_id = {k.key_id: k for k in keys}

    def replace(self, keys: list[ApiKey]) -> None:
        self._by_id = {k.key_id: k for k in keys}

    def check(self, token: str) -> ApiKey | None:
        """The live key a token belongs to, or ``None``."""
        if not token.startswith(PREFIX):
            return None
        key_id, sep, _ = token[len(PREFIX) :].partition("_")
        key = self._by_id.get(key_id) if sep else None
        # Compare against a dummy digest when the id is unknown so both paths cost the same.
        expected = key.token_sha256 if key is not None else "0" * 64
        ok = hmac.compare_digest(digest(token), expected)
        if not ok or key is None or key.revoked_at is not None:
            return None
        return key
