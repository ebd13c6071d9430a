// The rehearsal's load (tests/scale/rehearsal.sh): client_credentials at a constant rate, and
// one refresh-token chain per virtual user, all through the load balancer at BASE. Every
// access token issued is handed to the resource server at VERIFY, which checks it against the
// JWKS it caches. Runs until the rehearsal interrupts it.
//
// Logged to stderr for the rehearsal's table: `EVENT <epoch ms> <kind> <status>` for every
// non-2xx answer, broken chain and verification failure (the 2xx are only counted).
import http from 'k6/http';
import { sleep, fail } from 'k6';
import { Counter } from 'k6/metrics';

const BASE = __ENV.BASE;
const VERIFY = __ENV.VERIFY;
const CLIENT = {
  client_id: 'BA779C49-4D93-4785-9596-25805A24C5DC',
  client_secret: '4AD3CE00-8ED5-4F0A-A979-ACE64A15207C',
};
const JSON_HEADERS = { headers: { 'Content-Type': 'application/json' }, tags: { name: 'token' } };

for (const url of [BASE, VERIFY]) {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url || '')) fail(`not a loopback URL: ${url}`);
}

const statuses = {
  s2xx: new Counter('status_2xx'),
  s4xx: new Counter('status_4xx'),
  s503: new Counter('status_503'),
  s5xx: new Counter('status_5xx_other'),
  none: new Counter('status_no_answer'),
};
const brokenChains = new Counter('broken_chains');
const verificationFailures = new Counter('verification_failures');
const verified = new Counter('verified_tokens');

export const options = {
  scenarios: {
    client_credentials: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 80),
      timeUnit: '1s',
      duration: __ENV.DURATION || '10m',
      preAllocatedVUs: 20,
      maxVUs: 60,
      exec: 'clientCredentials',
    },
    chains: {
      executor: 'constant-vus',
      vus: Number(__ENV.CHAINS || 16),
      duration: __ENV.DURATION || '10m',
      exec: 'chain',
    },
  },
  summaryTrendStats: ['p(50)', 'p(99)', 'max'],
  // Sub-metrics of the token requests alone (not the resource server's) in the summary.
  thresholds: {
    'http_req_duration{name:token}': ['max>=0'],
    'http_reqs{name:token}': ['count>=0'],
  },
};

function event(kind, status, detail) {
  console.error(`EVENT ${Date.now()} ${kind} ${status}${detail ? ` ${detail}` : ''}`);
}

function count(res) {
  const s = res.status;
  if (s >= 200 && s < 300) statuses.s2xx.add(1);
  else if (s === 0) statuses.none.add(1);
  else if (s === 503) statuses.s503.add(1);
  else if (s >= 500) statuses.s5xx.add(1);
  else statuses.s4xx.add(1);
  if (s < 200 || s >= 300) event('non2xx', s);
}

function token(body) {
  const res = http.post(`${BASE}/token`, JSON.stringify(Object.assign({}, CLIENT, body)), JSON_HEADERS);
  count(res);
  if (res.status === 200) verify(res.json('access_token'));
  return res;
}

// The resource server answers 200 for a token it verified, 401 otherwise.
function verify(accessToken) {
  const res = http.get(`${VERIFY}/verify`, {
    headers: { Authorization: `Bearer ${accessToken}` },
    tags: { name: 'verify' },
    responseCallback: http.expectedStatuses(200),
  });
  if (res.status === 200) {
    verified.add(1);
  } else {
    verificationFailures.add(1);
    event('verification', res.status);
  }
}

export function clientCredentials() {
  token({ grant_type: 'client_credentials' });
}

// Each virtual user keeps one chain: started by client_credentials, then rotated. A 503 or no
// answer is retried with the same token (what a client does); any other failure breaks it.
let refreshToken = null;

export function chain() {
  const res = refreshToken === null
    ? token({ grant_type: 'client_credentials' })
    : token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  if (res.status === 200) {
    // With the store down, client_credentials answers an access token alone (docs/design.md, "Load, faults and bad input"): the
    // chain starts again at the next iteration.
    refreshToken = res.json('refresh_token') || null;
  } else if (res.status !== 503 && res.status !== 0) {
    brokenChains.add(1);
    event('broken_chain', res.status, res.body);
    refreshToken = null;
  }
  sleep(0.1);
}
