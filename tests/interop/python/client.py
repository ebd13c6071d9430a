"""A machine client on a second stack: authlib's OAuth 2.0 client (client_secret_basic, or
RFC 7523 private_key_jwt with authlib's PrivateKeyJWT) asks token-service for a
client_credentials token and refreshes it, with DPoP proofs (RFC 9449) made with PyJWT when
asked. tests/it/interop_python.rs runs it and reads the one JSON line it prints:

  {"event": "done", ...}                what the client saw, or
  {"event": "error", "stage": ...}      and exit code 1

Settings (environment):
  INTEROP_ISSUER          issuer identifier; the token endpoint comes from its metadata (RFC 8414)
  INTEROP_CLIENT_ID       the client
  INTEROP_CLIENT_SECRET   client_secret_basic (RFC 6749 §2.3.1), or
  INTEROP_CLIENT_KEY      private_key_jwt: the ES256 key, PKCS#8 DER base64url,
  INTEROP_CLIENT_KID      with the `kid` of the client's registered JWK
  INTEROP_SCOPE           the scope to ask for
  INTEROP_DPOP_KEY        DPoP with this ES256 key, PKCS#8 DER base64url
  INTEROP_REPLAY_PROOF=1  also send the first token request's DPoP proof a second time
  INTEROP_TIMEOUT         seconds for each HTTP request (default 10)
"""

import base64
import json
import os
import sys
import time
import uuid

stage = "imports"


def emit(line):
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def fail(message, **details):
    emit({"event": "error", "stage": stage, "message": message, **details})
    sys.exit(1)


try:
    import jwt
    import requests
    from authlib.integrations.requests_client import OAuth2Session, OAuthError
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from cryptography.hazmat.primitives import hashes, serialization
    from joserfc.jwk import ECKey
except ImportError as e:
    fail(f"{e}: needs authlib, PyJWT, cryptography and requests (.ci/run installs them)")

# Plain HTTP to the test's loopback server only.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

TOKEN_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
}


def required(name):
    value = os.environ.get(name)
    if not value:
        fail(f"{name} is not set")
    return value


def private_key(pkcs8_b64url):
    der = base64.urlsafe_b64decode(pkcs8_b64url + "=" * (-len(pkcs8_b64url) % 4))
    return serialization.load_der_private_key(der, password=None)


class DPoP:
    """Proofs of possession of one key (RFC 9449 §4.2), and the server's latest nonce (§8)."""

    def __init__(self, key):
        self.key = key
        self.jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        self.nonce = None
        self.retries = 0

    def thumbprint(self):
        """RFC 7638: SHA-256 of the required members in lexicographic order."""
        members = {k: self.jwk[k] for k in ("crv", "kty", "x", "y")}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
        digest = hashes.Hash(hashes.SHA256())
        digest.update(canonical.encode())
        return base64.urlsafe_b64encode(digest.finalize()).rstrip(b"=").decode()

    def proof(self, method, url):
        claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
        if self.nonce:
            claims["nonce"] = self.nonce
        headers = {"typ": "dpop+jwt", "jwk": self.jwk}
        return jwt.encode(claims, self.key, algorithm="ES256", headers=headers)

    def keep_nonce(self, response):
        """authlib's response hook: the `DPoP-Nonce` of every token response."""
        if response.headers.get("DPoP-Nonce"):
            self.nonce = response.headers["DPoP-Nonce"]
        return response


def with_dpop(dpop, url, request):
    """`request(headers)` with a fresh proof; once more if the server asks for its nonce."""
    if dpop is None:
        return request(dict(TOKEN_HEADERS)), None
    proof = dpop.proof("POST", url)
    try:
        return request({**TOKEN_HEADERS, "DPoP": proof}), proof
    except OAuthError as e:
        if e.error != "use_dpop_nonce" or dpop.nonce is None:
            raise
        dpop.retries += 1
        proof = dpop.proof("POST", url)
        return request({**TOKEN_HEADERS, "DPoP": proof}), proof


def main():
    global stage
    stage = "settings"
    issuer = required("INTEROP_ISSUER")
    client_id = required("INTEROP_CLIENT_ID")
    scope = required("INTEROP_SCOPE")
    timeout = float(os.environ.get("INTEROP_TIMEOUT", "10"))
    dpop_key = os.environ.get("INTEROP_DPOP_KEY")
    dpop = DPoP(private_key(dpop_key)) if dpop_key else None

    if os.environ.get("INTEROP_CLIENT_KEY"):
        pem = private_key(os.environ["INTEROP_CLIENT_KEY"]).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        session = OAuth2Session(
            client_id,
            ECKey.import_key(pem),
            token_endpoint_auth_method="private_key_jwt",
            scope=scope,
        )
        # The assertion's `aud` is the token endpoint's URL, authlib's default (RFC 7523 §3).
        kid = os.environ.get("INTEROP_CLIENT_KID")
        session.register_client_auth_method(
            PrivateKeyJWT(alg="ES256", headers={"kid": kid} if kid else None)
        )
        auth_method = "private_key_jwt"
    else:
        session = OAuth2Session(
            client_id,
            required("INTEROP_CLIENT_SECRET"),
            token_endpoint_auth_method="client_secret_basic",
            scope=scope,
        )
        auth_method = "client_secret_basic"
    if dpop:
        session.register_compliance_hook("access_token_response", dpop.keep_nonce)
        session.register_compliance_hook("refresh_token_response", dpop.keep_nonce)

    stage = "discovery"
    metadata = requests.get(
        f"{issuer}/.well-known/oauth-authorization-server", timeout=timeout
    ).json()
    if metadata.get("issuer") != issuer:
        fail(f"metadata names issuer {metadata.get('issuer')!r} (RFC 8414 §3.3)")
    token_endpoint = metadata["token_endpoint"]

    stage = "token"
    token, first_proof = with_dpop(
        dpop,
        token_endpoint,
        lambda headers: session.fetch_token(
            token_endpoint, grant_type="client_credentials", headers=headers, timeout=timeout
        ),
    )
    summary = {
        "event": "done",
        "auth_method": auth_method,
        "dpop_jkt": dpop.thumbprint() if dpop else None,
        "token": {
            "token_type": token.get("token_type"),
            "scope": token.get("scope"),
            "expires_in": token.get("expires_in"),
            "access_token": token.get("access_token"),
            "has_refresh_token": "refresh_token" in token,
        },
    }

    if os.environ.get("INTEROP_REPLAY_PROOF") == "1":
        stage = "replay"
        try:
            session.fetch_token(
                token_endpoint,
                grant_type="client_credentials",
                headers={**TOKEN_HEADERS, "DPoP": first_proof},
                timeout=timeout,
            )
            summary["replay"] = {"accepted": True}
        except OAuthError as e:
            summary["replay"] = {"error": e.error, "error_description": e.description}

    if "refresh_token" in token:
        stage = "refresh"
        refreshed, _ = with_dpop(
            dpop,
            token_endpoint,
            lambda headers: session.refresh_token(
                token_endpoint,
                refresh_token=token["refresh_token"],
                headers=headers,
                timeout=timeout,
            ),
        )
        summary["refresh"] = {
            "token_type": refreshed.get("token_type"),
            "scope": refreshed.get("scope"),
            "access_token": refreshed.get("access_token"),
            "rotated": refreshed.get("refresh_token") not in (None, token["refresh_token"]),
        }
    summary["dpop_nonce_retries"] = dpop.retries if dpop else 0
    emit(summary)


if __name__ == "__main__":
    try:
        main()
    except OAuthError as e:
        fail(str(e), error=e.error, error_description=e.description)
    except Exception as e:  # noqa: BLE001 - every failure is one JSON line for the test
        fail(f"{type(e).__name__}: {e}")
