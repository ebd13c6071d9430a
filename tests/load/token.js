// k6 load test of POST /token: the three hot paths of the original API description.
// Bounded in time and virtual users; talks only to BASE (a loopback address).
//
//   k6 run -e BASE=http://127.0.0.1:8080 -e SCENARIO=client_credentials tests/load/token.js
//   SCENARIO: client_credentials (default) | password | refresh | rotate | jwks
//   (rotate: refresh-token chains started by client_credentials, so no argon2 per chain)
import http from 'k6/http';
import { check, fail } from 'k6';

const BASE = __ENV.BASE || 'http://127.0.0.1:8080';
const SCENARIO = __ENV.SCENARIO || 'client_credentials';
const CLIENT = {
  client_id: 'BA779C49-4D93-4785-9596-25805A24C5DC',
  client_secret: '4AD3CE00-8ED5-4F0A-A979-ACE64A15207C',
};
const JSON_HEADERS = { headers: { 'Content-Type': 'application/json' } };

if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(BASE)) {
  fail(`BASE must be a loopback address, got ${BASE}`);
}

export const options = {
  vus: Number(__ENV.VUS || 8),
  ...(__ENV.ITERATIONS
    ? { iterations: Number(__ENV.ITERATIONS) }
    : { duration: __ENV.DURATION || '15s' }),
  thresholds: {
    checks: ['rate>0.99'],
    http_req_failed: ['rate<0.01'],
  },
};

function token(body) {
  return http.post(`${BASE}/token`, JSON.stringify(Object.assign({}, CLIENT, body)), JSON_HEADERS);
}

export function setup() {
  const res = token({ grant_type: 'client_credentials' });
  if (res.status !== 200) fail(`service not ready: ${res.status} ${res.body}`);
}

// Each virtual user keeps its own refresh-token chain.
let refreshToken = null;

export default function () {
  let res;
  switch (SCENARIO) {
    case 'password':
      res = token({ grant_type: 'password', username: 'jsmith', password: 'password123' });
      break;
    case 'refresh':
      if (refreshToken === null) {
        res = token({ grant_type: 'password', username: 'jsmith', password: 'password123' });
      } else {
        res = token({ grant_type: 'refresh_token', refresh_token: refreshToken });
      }
      if (res.status === 200) refreshToken = res.json('refresh_token');
      break;
    case 'rotate':
      if (refreshToken === null) {
        res = token({ grant_type: 'client_credentials' });
      } else {
        res = token({ grant_type: 'refresh_token', refresh_token: refreshToken });
      }
      if (res.status === 200) refreshToken = res.json('refresh_token');
      break;
    case 'jwks':
      res = http.get(`${BASE}/.well-known/jwks.json`);
      check(res, { 'status 200': (r) => r.status === 200 });
      return;
    default:
      res = token({ grant_type: 'client_credentials' });
  }
  check(res, {
    'status 200': (r) => r.status === 200,
    'has access_token': (r) => r.status === 200 && typeof r.json('access_token') === 'string',
  });
}
