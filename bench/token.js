// The one k6 scenario bench/run.sh runs against every server: POST /token with HTTP Basic and a
// form body. Talks only to BASE, a loopback address; bounded in time.
//
//   MODE=closed: VUS virtual users, each sending its next request when the last is answered.
//   MODE=rate:   RATE requests per second (constant-arrival-rate), whatever the latency.
//   MODE=count:  ITERATIONS requests shared by VUS virtual users (bench/profile.sh).
//   GRANT=client_credentials (client reporting-service) | password (jsmith, the example client)
import http from 'k6/http';
import encoding from 'k6/encoding';
import { check, fail } from 'k6';

const BASE = __ENV.BASE || 'http://127.0.0.1:18089';
const MODE = __ENV.MODE || 'closed';
const GRANT = __ENV.GRANT || 'client_credentials';
const DURATION = __ENV.DURATION || '10s';

if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(BASE)) {
  fail(`BASE must be a loopback address, got ${BASE}`);
}

const REQUESTS = {
  client_credentials: {
    auth: encoding.b64encode('reporting-service:reporting-secret-change-me'),
    body: 'grant_type=client_credentials&scope=reports%3Aread',
  },
  password: {
    auth: encoding.b64encode('BA779C49-4D93-4785-9596-25805A24C5DC:4AD3CE00-8ED5-4F0A-A979-ACE64A15207C'),
    body: 'grant_type=password&username=jsmith&password=password123&scope=read',
  },
};
const REQUEST = REQUESTS[GRANT] || fail(`unknown GRANT ${GRANT}`);
const PARAMS = {
  headers: {
    Authorization: `Basic ${REQUEST.auth}`,
    'Content-Type': 'application/x-www-form-urlencoded',
  },
};

const COUNT = { executor: 'shared-iterations', vus: Number(__ENV.VUS || 4), iterations: Number(__ENV.ITERATIONS || 1000), maxDuration: '10m' };
const scenario = MODE === 'count' ? COUNT : MODE === 'rate'
  ? {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 2000),
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Number(__ENV.VUS || 64),
      maxVUs: 400,
    }
  : { executor: 'constant-vus', vus: Number(__ENV.VUS || 32), duration: DURATION };

export const options = {
  scenarios: { token: scenario },
  summaryTrendStats: ['avg', 'med', 'p(99)', 'max'],
  discardResponseBodies: false,
};

export default function () {
  const res = http.post(`${BASE}/token`, REQUEST.body, PARAMS);
  check(res, {
    'status 200': (r) => r.status === 200,
    'has access_token': (r) => r.status === 200 && r.body.indexOf('"access_token":"') >= 0,
  });
}
