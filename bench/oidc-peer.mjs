// node-oidc-provider as bench/run.sh's peer: one confidential client (HTTP Basic) allowed
// client_credentials, JWT access tokens signed ES256 through the resource-indicators feature.
// Run from a folder where `oidc-provider` is installed:  node oidc-peer.mjs PORT
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 18091);
const resource = 'https://reports.example.com';
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256', kid: 'bench' };

const provider = new Provider('http://localhost:8080', {
  jwks: { keys: [jwk] },
  clients: [{
    client_id: 'reporting-service',
    client_secret: 'reporting-secret-change-me',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    scope: 'reports:read',
  }],
  scopes: ['reports:read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'reports:read',
        audience: resource,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});

provider.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
