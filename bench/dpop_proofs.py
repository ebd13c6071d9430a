"""Writes COUNT DPoP proofs (RFC 9449 §4) for POST /token to a JSON array, for bench/dpop.js:
one ES256 key, a unique jti each, iat now (a proof is accepted for 60 s, so make them right
before the run). PyJWT and cryptography make them, as a client library would.

    python3 bench/dpop_proofs.py COUNT OUT.json [ISSUER]
"""
import json
import sys
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

count, out = int(sys.argv[1]), sys.argv[2]
issuer = sys.argv[3] if len(sys.argv) > 3 else "http://localhost:8080"
key = ec.generate_private_key(ec.SECP256R1())
jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
header = {"typ": "dpop+jwt", "jwk": jwk}
now = int(time.time())
proofs = [
    jwt.encode({"jti": uuid.uuid4().hex, "htm": "POST", "htu": f"{issuer}/token", "iat": now},
               key, algorithm="ES256", headers=header)
    for _ in range(count)
]
with open(out, "w") as f:
    json.dump(proofs, f)
