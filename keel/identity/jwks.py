"""The issuer's published keys (JWKS), each read once with what it may verify.

A token's header names both its algorithm and its key, and the two can disagree: ``RS256`` on
an EC key, ``ES256`` on a P-384 key, ``PS256`` on a key published for ``RS256`` only, any
algorithm on a key published for encryption. Each key therefore carries the algorithms its type
(``kty``, and the curve) can verify, narrowed by its own ``alg`` when the issuer states one, so a
mismatch is refused by name before a signature library is handed a key it cannot use. Keys
keel cannot use at all (an unknown ``kty``, ``use: enc``) are kept, with the reason, so that a
token naming one is told why, and does not make keel fetch the JWKS again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

__all__ = ["SigningKey", "fitting", "parse_jwks"]

_RSA = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K"}
_OKP = frozenset({"Ed25519", "Ed448"})


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    kind: str  # "RSA", "EC P-256", "OKP Ed25519": for messages
    algorithms: frozenset[str]  # what a token signed with this key may say in its alg
    key: Any = None  # the public key PyJWT verifies with; None when it may not be used
    stated: str | None = None  # the key's own alg, when the issuer published one
    problem: str | None = None  # why no token may be verified with it

    def refusal(self, alg: str) -> str | None:
        """Why a token whose header says ``alg`` may not be verified with this key, or None."""
        if self.problem is not None:
            return self.problem
        if alg in self.algorithms:
            return None
        named = f"its header says {alg} but the key it names (kid {_short(self.kid)})"
        if self.stated is not None:
            return f"{named} is an {self.kind} key published for {self.stated} only"
        return f"{named} is an {self.kind} key, for {', '.join(sorted(self.algorithms))}"


def parse_jwks(data: Any) -> dict[str, tuple[SigningKey, ...]]:
    """Every key of a JWKS that has a kid, usable or not, by kid (RFC 7517 4.5 lets keys of
    different types share one); ``ValueError`` if none is usable."""
    listed = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        raise ValueError("the JWKS has no 'keys' list")
    keys: dict[str, tuple[SigningKey, ...]] = {}
    for jwk in listed:
        if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str):
            keys[jwk["kid"]] = (*keys.get(jwk["kid"], ()), _read(jwk))
    if not any(key.problem is None for named in keys.values() for key in named):
        raise ValueError("the JWKS has no signing key keel can use")
    return keys


def fitting(keys: tuple[SigningKey, ...], alg: str) -> tuple[SigningKey, str | None]:
    """The key, of those published under one kid, that may verify ``alg``; else the first,
    with why it may not."""
    for key in keys:
        if key.refusal(alg) is None:
            return key, None
    return keys[0], keys[0].refusal(alg)


def _read(jwk: dict[str, Any]) -> SigningKey:
    kid = jwk["kid"]
    kind, algorithms = _fits(jwk)
    if not algorithms:
        return _unusable(kid, kind, f"is of a type keel cannot verify with ({kind})")
    use = jwk.get("use")
    if use is not None and use != "sig":
        return _unusable(kid, kind, f"is published for {_short(use)}, not for signatures")
    stated = jwk.get("alg")
    if stated is not None:
        if stated not in algorithms:
            return _unusable(kid, kind, f"is published for {_short(stated)}, not for signatures")
        algorithms = frozenset({stated})
    try:  # any algorithm of the family reads the key; which one verifies is the token's alg
        key = jwt.PyJWK(jwk, algorithm=min(algorithms)).key
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        return _unusable(kid, kind, f"cannot be read ({type(exc).__name__})")
    return SigningKey(kid, kind, algorithms, key, stated)


def _fits(jwk: dict[str, Any]) -> tuple[str, frozenset[str]]:
    """The key's kind, for messages, and the algorithms its type can verify."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "RSA":
        return "RSA", _RSA
    if kty == "EC" and isinstance(crv, str) and crv in _EC:
        return f"EC {crv}", frozenset({_EC[crv]})
    if kty == "OKP" and isinstance(crv, str) and crv in _OKP:
        return f"OKP {crv}", frozenset({"EdDSA"})
    shown = f"kty {_short(kty)}" + (f", crv {_short(crv)}" if crv is not None else "")
    return shown, frozenset()


def _unusable(kid: str, kind: str, why: str) -> SigningKey:
    return SigningKey(kid, kind, frozenset(), problem=f"the key it names (kid {_short(kid)}) {why}")


def _short(value: Any) -> str:
    """A value from a JWKS or a token, quoted and cut short: it goes into an error message."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
