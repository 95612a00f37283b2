"""Application keys: making them, and storing and checking them as salted hashes.

Keys are 256 random bits, so no guessing attack can find one and a slow
password hash (bcrypt, Argon2) would buy nothing while costing tens of
milliseconds on every request. A salted HMAC-SHA-256 is enough to keep a
stolen database from yielding working keys, and ``hmac.compare_digest``
compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCHEME = "hmac-sha256"


def new_key() -> str:
    """Return a fresh application key; it is shown to the operator once."""
    return f"sk_{secrets.token_urlsafe(32)}"


def hash_key(key: str) -> str:
    """Return the stored form of a key: scheme, salt and digest."""
    salt = secrets.token_bytes(16)
    return f"{SCHEME}${salt.hex()}${_digest(salt, key)}"


def verify_key(key: str, stored: str) -> bool:
    """Tell whether ``key`` is the key whose stored form is ``stored``."""
    try:
        scheme, salt, digest = stored.split("$")
        salt_bytes = bytes.fromhex(salt)
    except ValueError:
        return False
    if scheme != SCHEME:
        return False
    return hmac.compare_digest(_digest(salt_bytes, key), digest)


def _digest(salt: bytes, key: str) -> str:
    return hmac.new(salt, key.encode("utf-8"), hashlib.sha256).hexdigest()
