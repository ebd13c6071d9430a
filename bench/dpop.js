// client_credentials with a DPoP proof (RFC 9449) per request: the same request as
// bench/token.js's, plus a `DPoP` header from PROOFS, a JSON array bench/dpop_proofs.py wrote
// right before the run (each proof is single-use and lives 60 s). Each iteration takes its own
// proof. Talks only to BASE, a loopback address; bounded by the number of proofs.
//
//   k6 run -e PROOFS=/tmp/proofs.json -e VUS=4 bench/dpop.js
import http from 'k6/http';
import exec from 'k6/execution';
import encoding from 'k6/encoding';
import { SharedArray } from 'k6/data';
import { check, fail } from 'k6';

const BASE = __ENV.BASE || 'http://127.0.0.1:18089';
if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(BASE)) {
  fail(`BASE must be a loopback address, got ${BASE}`);
}
const proofs = new SharedArray('proofs', () => JSON.parse(open(__ENV.PROOFS)));
const AUTH = encoding.b64encode('reporting-service:reporting-secret-change-me');
const BODY = 'grant_type=client_credentials&scope=reports%3Aread';

export const options = {
  scenarios: {
    dpop: {
      executor: 'shared-iterations',
      vus: Number(__ENV.VUS || 4),
      iterations: proofs.length,
      maxDuration: '50s',
    },
  },
  summaryTrendStats: ['avg', 'med', 'p(99)', 'max'],
};

export default function () {
  const proof = proofs[exec.scenario.iterationInTest];
  const res = http.post(`${BASE}/token`, BODY, {
    headers: {
      Authorization: `Basic ${AUTH}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      DPoP: proof,
    },
  });
  check(res, {
    'status 200': (r) => r.status === 200,
    'token_type DPoP': (r) => r.status === 200 && r.body.indexOf('"token_type":"DPoP"') >= 0,
  });
}
