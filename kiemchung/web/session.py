"""Sign-in sessions: an API key exchanged for a signed, HttpOnly, SameSite cookie.

The cookie holds the key's SHA-256 (never the key) and the session's CSRF token; each request
looks the hash up in the key ring again, so a key removed from the key file ends its sessions.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.scoring.access import ApiKey, KeyRing, hash_key

SESSION_COOKIE = "kiemchung_session"
SESSION_SALT = "kiemchung-web-session"
SESSION_SECONDS = 8 * 3600  # one working day
CSRF_BYTES = 24
MAX_KEY_CHARS = 200


@dataclass(frozen=True)
class Viewer:
    key: ApiKey
    csrf: str


@dataclass(frozen=True)
class SessionCodec:
    secret: str

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=SESSION_SALT)

    def open_session(self, keys: KeyRing, presented: str) -> tuple[Viewer, str] | None:
        """The viewer and the cookie value for a presented key, or None for an unknown key."""
        if not presented or len(presented) > MAX_KEY_CHARS:
            return None
        digest = hash_key(presented.strip())
        key = keys.by_hash.get(digest)
        if key is None:
            return None
        csrf = secrets.token_urlsafe(CSRF_BYTES)
        return Viewer(key, csrf), self._serializer().dumps({"k": digest, "c": csrf})

    def viewer(self, keys: KeyRing, cookie: str | None) -> Viewer | None:
        if not cookie or len(cookie) > 4 * MAX_KEY_CHARS:
            return None
        try:
            data = self._serializer().loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        key = keys.by_hash.get(str(data.get("k", "")))
        csrf = data.get("c")
        if key is None or not isinstance(csrf, str):
            return None
        return Viewer(key, csrf)


def csrf_matches(viewer: Viewer, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(viewer.csrf, presented)
