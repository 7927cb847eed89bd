"""SCRAM-SHA-256 (RFC 5802/7677) server side, with tls-server-end-point channel binding.

Written on hashlib/hmac because scramp rejects libpq's empty ``n=`` user name
(WIRE.md 5.1). Verifiers use PostgreSQL's stored format
``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (base64 parts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from vecgres.errors import InvalidAuthorizationSpecification, ProtocolViolation

MECHANISM: Final = "SCRAM-SHA-256"
MECHANISM_PLUS: Final = "SCRAM-SHA-256-PLUS"
DEFAULT_ITERATIONS: Final = 4096


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def make_verifier(
    password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    """The PostgreSQL-format SCRAM verifier of ``password`` (no SASLprep: ASCII is exact)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = _hmac(salted, b"Server Key")
    return f"{MECHANISM}${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


@dataclass(frozen=True, slots=True)
class Verifier:
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier | None:
        try:
            mech, params, keys = text.split("$")
            iterations, salt = params.split(":")
            stored, server = keys.split(":")
            if mech != MECHANISM:
                return None
            return cls(
                int(iterations),
                base64.b64decode(salt),
                base64.b64decode(stored),
                base64.b64decode(server),
            )
        except ValueError:
            return None

    def check_password(self, password: str) -> bool:
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.iterations)
        stored = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
        return hmac.compare_digest(stored, self.stored_key)


def _attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for part in text.split(","):
        if len(part) < 2 or part[1] != "=":
            raise ProtocolViolation(
                "malformed SCRAM message", detail=f'Attribute expected, but found "{part}".'
            )
        attrs.setdefault(part[0], part[2:])
    return attrs


def mock_salt(user: str, cluster_nonce: bytes) -> bytes:
    """The fake salt shown for an unknown user: the same on every attempt, as
    PostgreSQL's scram_mock_salt (SHA-256 of the name and a per-cluster secret),
    so two attempts do not tell an unknown user from a known one."""
    return hashlib.sha256(user.encode() + cluster_nonce).digest()[:16]


def decode_message(raw: bytes) -> str:
    """A SCRAM message as text; bytes that are not UTF-8 make it malformed (08P01)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolViolation("malformed SCRAM message", detail="Message is not valid UTF-8.")


class ScramExchange:
    """One server-side SCRAM conversation.

    ``verifier`` None means the user is unknown: the exchange still runs to the
    end with a fake salt (as PostgreSQL does, not to reveal which users exist)
    and then fails.
    """

    def __init__(
        self, verifier: Verifier | None, channel_binding: bytes | None, mock_salt: bytes = b""
    ) -> None:
        self.verifier = verifier
        # an unknown user's salt must be as stable as a known user's (see mock_salt)
        self.mock_salt = mock_salt or secrets.token_bytes(16)
        self.channel_binding = channel_binding  # tls-server-end-point data when on TLS
        self.mechanism = ""
        self.client_first_bare = ""
        self.server_first = ""
        self.nonce = ""
        self.gs2_header = ""

    def client_first(self, mechanism: str, message: str) -> str:
        """Handle SASLInitialResponse; return server-first-message."""
        if mechanism not in (MECHANISM, MECHANISM_PLUS) or (
            mechanism == MECHANISM_PLUS and self.channel_binding is None
        ):
            raise ProtocolViolation("SASL authentication mechanism not supported")
        self.mechanism = mechanism
        parts = message.split(",", 2)
        if len(parts) != 3:
            raise ProtocolViolation("malformed SCRAM message", detail="Comma expected.")
        flag, authzid, bare = parts
        if mechanism == MECHANISM_PLUS:
            if flag != "p=tls-server-end-point":
                raise ProtocolViolation(
                    "malformed SCRAM message", detail="Unexpected channel-binding flag."
                )
        elif flag == "y":
            # the client supports binding and thinks we do not: a downgrade if we offered PLUS
            if self.channel_binding is not None:
                raise InvalidAuthorizationSpecification(
                    "SCRAM channel binding negotiation error",
                    detail=(
                        "The client supports SCRAM channel binding but thinks the server does not."
                    ),
                )
        elif flag != "n":
            raise ProtocolViolation(
                "malformed SCRAM message", detail="Unexpected channel-binding flag."
            )
        if authzid:
            raise ProtocolViolation("client uses authorization identity, but it is not supported")
        attrs = _attributes(bare)
        if "r" not in attrs or not attrs["r"]:
            raise ProtocolViolation("malformed SCRAM message", detail="Nonce expected.")
        self.gs2_header = f"{flag},{authzid},"
        self.client_first_bare = bare
        self.nonce = attrs["r"] + _b64(secrets.token_bytes(18))
        if self.verifier is not None:
            salt, iterations = self.verifier.salt, self.verifier.iterations
        else:
            salt, iterations = self.mock_salt, DEFAULT_ITERATIONS
        self.server_first = f"r={self.nonce},s={_b64(salt)},i={iterations}"
        return self.server_first

    def client_final(self, message: str) -> str | None:
        """Handle the client-final-message; server-final on success, None if the proof fails."""
        without_proof, sep, proof_part = message.rpartition(",p=")
        if not sep:
            raise ProtocolViolation("malformed SCRAM message", detail="Proof expected.")
        attrs = _attributes(without_proof)
        expected_cb = self.gs2_header.encode()
        if self.mechanism == MECHANISM_PLUS and self.channel_binding is not None:
            expected_cb += self.channel_binding
        if attrs.get("c") != _b64(expected_cb):
            raise ProtocolViolation("SCRAM channel binding check failed")
        if attrs.get("r") != self.nonce:
            raise ProtocolViolation("malformed SCRAM message", detail="Nonce does not match.")
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise ProtocolViolation(
                "malformed SCRAM message", detail="Malformed proof in client-final-message."
            )
        if self.verifier is None or len(proof) != 32:
            return None
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        signature = _hmac(self.verifier.stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.verifier.stored_key):
            return None
        return "v=" + _b64(_hmac(self.verifier.server_key, auth_message))
