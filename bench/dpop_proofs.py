"""Writes COUNT DPoP proofs (RFC 9449 §4) for POST /token to a JSON array, for bench/dpop.js:
one key (ES256, or Ed25519 with ALG=EdDSA), a unique jti each, iat now (a proof is accepted
for 60 s, so make them right before the run). PyJWT and cryptography make them, as a client
library would.

    [ALG=EdDSA] python3 bench/dpop_proofs.py COUNT OUT.json [ISSUER]
"""
import os
import json
import sys
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

count, out = int(sys.argv[1]), sys.argv[2]
issuer = sys.argv[3] if len(sys.argv) > 3 else "http://localhost:8080"
alg = os.environ.get("ALG", "ES256")
if alg == "EdDSA":
    key = ed25519.Ed25519PrivateKey.generate()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
else:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
header = {"typ": "dpop+jwt", "jwk": jwk}
now = int(time.time())
proofs = [
    jwt.encode({"jti": uuid.uuid4().hex, "htm": "POST", "htu": f"{issuer}/token", "iat": now},
               key, algorithm=alg, headers=header)
    for _ in range(count)
]
with open(out, "w") as f:
    json.dump(proofs, f)
