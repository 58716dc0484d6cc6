"""Dashboard login: an API key with the ``read`` scope, exchanged for an HttpOnly session cookie.

The cookie holds a random session id; the server keeps ``id -> token`` in memory and re-checks the token
against the service's key ring on every request, so revoking the key ends the session at once. Cookies
are ``SameSite=Strict``, which keeps other sites from posting to the dashboard with the user's session.
"""

from __future__ import annotations

import secrets
import threading
import time

from fastapi import Request

from segmint.access.keys import ApiKey

__all__ = ["COOKIE", "LoginRequired", "Sessions", "current_key", "missing_scope"]

COOKIE = "segmint_session"
MAX_AGE_S = 12 * 3600


class LoginRequired(Exception):
    """Raised by page handlers without a valid session; pages redirect to the login, JSON gets 401."""

    def __init__(self, next_url: str, json: bool = False) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.json = json


class Sessions:
    """Session id -> (token, expiry). In memory: a restart logs everyone out, which is the safe default."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def open(self, token: str) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._items = {k: v for k, v in self._items.items() if v[1] > now}
            self._items[sid] = (token, now + MAX_AGE_S)
        return sid

    def token(self, sid: str | None) -> str | None:
        if not sid:
            return None
        with self._lock:
            item = self._items.get(sid)
        if item is None or item[1] < time.time():
            return None
        return item[0]

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._items.pop(sid or "", None)


def check_login(request: Request, token: str) -> ApiKey | None:
    """The key for ``token`` if it may read the dashboard."""
    key = request.app.state.service.keys.check(token.strip())
    return key if key is not None and key.allows("read") else None


def missing_scope(key: ApiKey, scope: str) -> str | None:
    """Why the signed-in key may not do what needs ``scope`` (None if it may): the same rule and words
    as the API's ``require``, for the dashboard's 403 answers."""
    if key.allows(scope):
        return None
    return f"this key ({key.name or key.key_id}) lacks the {scope!r} scope; it has: {', '.join(sorted(key.scopes))}"


def current_key(request: Request, json: bool = False) -> ApiKey:
    """The signed-in key, or :class:`LoginRequired`."""
    sessions: Sessions = request.app.state.web.sessions
    token = sessions.token(request.cookies.get(COOKIE))
    key = check_login(request, token) if token else None
    if key is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target, json=json)
    return key
