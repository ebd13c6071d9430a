"""The rehearsal's resource server (tests/scale/rehearsal.sh): verifies access tokens as the
README's "Verifying a token in a resource server" says, against a JWKS it caches.

GET /verify with `Authorization: Bearer <token>` answers 200 when the token verifies, 401
otherwise. The JWKS is fetched once at start, kept for its `max-age`, and refetched when a
token names an unknown `kid`, at most once per REFETCH_INTERVAL seconds (so a flood of
unknown kids cannot flood the service). At exit (SIGTERM) it writes its counts as JSON.

Usage: resource_server.py PORT JWKS_URL ISSUER AUDIENCE STATS_FILE
Needs PyJWT and cryptography (pip).
"""

import json
import re
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

REFETCH_INTERVAL = 3.0

port, jwks_url, issuer, audience, stats_file = sys.argv[1:6]
lock = threading.Lock()
keys = {}
expires = 0.0
last_fetch = 0.0
stats = {"verified": 0, "failed": 0, "jwks_fetches": 0, "failures": []}


def fetch():
    """Fetches the JWKS (under `lock`)."""
    global keys, expires, last_fetch
    last_fetch = time.monotonic()
    with urllib.request.urlopen(jwks_url, timeout=5) as response:
        document = json.load(response)
        control = response.headers.get("Cache-Control", "")
    max_age = re.search(r"max-age=(\d+)", control)
    expires = last_fetch + (int(max_age.group(1)) if max_age else 0)
    keys = {k["kid"]: jwt.PyJWK(k) for k in document["keys"]}
    stats["jwks_fetches"] += 1


def key_for(kid):
    with lock:
        now = time.monotonic()
        if now >= expires or (kid not in keys and now - last_fetch >= REFETCH_INTERVAL):
            try:
                fetch()
            except OSError as e:
                # Keep the cached keys: the service may be mid-roll.
                stats["failures"].append(f"jwks fetch: {e}")
        return keys.get(kid)


def verify(token):
    header = jwt.get_unverified_header(token)
    if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
        raise ValueError(f"typ {header.get('typ')}")
    if "crit" in header:
        raise ValueError("crit header")
    key = key_for(header.get("kid"))
    if key is None:
        raise ValueError(f"unknown kid {header.get('kid')}")
    jwt.decode(
        token,
        key.key,
        algorithms=[key.algorithm_name],
        issuer=issuer,
        audience=audience,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/healthz":
            self.send_response(204)
            self.end_headers()
            return
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            verify(token)
            ok = True
        except Exception as e:  # any failure is a failed verification, counted and kept
            ok = False
            with lock:
                if len(stats["failures"]) < 20:
                    stats["failures"].append(f"{type(e).__name__}: {e}")
        with lock:
            stats["verified" if ok else "failed"] += 1
        body = b"ok" if ok else b"invalid_token"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def stop(*_):
    with lock:
        with open(stats_file, "w") as f:
            json.dump(stats, f)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
with lock:
    fetch()
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
