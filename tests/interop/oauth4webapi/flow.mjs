// The authorization code flow as oauth4webapi (an OpenID-certified FAPI 2.0 client library)
// runs it against token-service. tests/it/interop_oauth4webapi.rs starts this as a child
// process and plays the browser:
//
//   stdout  {"event":"authorize","url":...}   the authorization URL to open
//   stdin   one line: the URL the browser was redirected back to
//   stdout  {"event":"done",...}              what the library saw, or
//           {"event":"error","stage":...}     and exit code 1
//
// Settings (environment):
//   INTEROP_ISSUER         issuer identifier (discovery: RFC 8414 / OpenID Connect Discovery)
//   INTEROP_CLIENT_ID      the client
//   INTEROP_CLIENT_SECRET  client_secret_basic (RFC 6749 §2.3.1), or
//   INTEROP_CLIENT_KEY     private_key_jwt (RFC 7523 §2.2): the ES256 key, PKCS#8 DER base64url,
//   INTEROP_CLIENT_KID     with the `kid` the client's registered JWK has
//   INTEROP_AUTH_NONE=1    a public client (`none`)
//   INTEROP_REDIRECT_URI   the registered redirect URI
//   INTEROP_SCOPE          the scope to ask for (`openid` makes it OpenID Connect)
//   INTEROP_PAR=1          push the request first (RFC 9126)
//   INTEROP_DPOP_KEY       DPoP (RFC 9449) with this ES256 key, PKCS#8 DER base64url
//   INTEROP_REFRESH_DPOP_KEY  refresh (and call /userinfo) with this DPoP key instead
//   INTEROP_TIMEOUT_MS     give up after this long (default 60000)

import { webcrypto } from 'node:crypto'
import { createInterface } from 'node:readline'
import * as oauth from 'oauth4webapi'

// Web Crypto is global from Node.js 19 on; Debian 12's Node.js 18 has it as node:crypto's only.
globalThis.crypto ??= webcrypto

const env = process.env
let stage = 'settings'

function emit(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

// The error as one JSON line: the protocol error and status when the server sent one, from
// the body or else from a `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9449 §7.1).
async function fail(err) {
  const line = { event: 'error', stage, message: String(err?.message ?? err) }
  if (err?.code) line.code = err.code
  if (err instanceof oauth.ResponseBodyError) {
    line.status = err.status
    line.error = err.error
    line.error_description = err.error_description
  } else if (err instanceof oauth.WWWAuthenticateChallengeError) {
    line.status = err.response?.status
    line.challenges = err.cause
    const body = await err.response?.json().catch(() => undefined)
    const challenge = err.cause.find((c) => c.parameters?.error)
    const source = body?.error ? body : challenge?.parameters
    if (source) {
      line.error = source.error
      line.error_description = source.error_description
    }
  } else if (err instanceof oauth.AuthorizationResponseError) {
    line.error = err.error
    line.error_description = err.error_description
  }
  emit(line)
  process.exit(1)
}

function required(name) {
  const value = env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256' }

async function privateKey(pkcs8, extractable) {
  return crypto.subtle.importKey('pkcs8', Buffer.from(pkcs8, 'base64url'), P256, extractable, [
    'sign',
  ])
}

// A DPoP key pair from its private half; oauth4webapi needs the public key extractable to
// put it in each proof's `jwk` header (RFC 9449 §4.2).
async function keyPair(pkcs8) {
  const full = await crypto.subtle.exportKey('jwk', await privateKey(pkcs8, true))
  const { d: _d, key_ops: _ops, ...publicJwk } = full
  return {
    privateKey: await privateKey(pkcs8, false),
    publicKey: await crypto.subtle.importKey('jwk', publicJwk, P256, true, ['verify']),
  }
}

// The first line on stdin.
function readLine() {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin })
    lines.once('line', (line) => {
      resolve(line.trim())
      lines.close()
    })
    lines.once('close', () => reject(new Error('stdin closed before the callback URL')))
  })
}

// Runs `attempt`, and once more when the server asked for a DPoP nonce: the handle has kept
// the `DPoP-Nonce` it sent (RFC 9449 §8, §9), as oauth4webapi's documentation prescribes.
async function withNonceRetry(retries, attempt) {
  try {
    return await attempt()
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err
    retries[stage] = (retries[stage] ?? 0) + 1
    return attempt()
  }
}

async function main() {
  const timeout = Number(env.INTEROP_TIMEOUT_MS ?? 60000)
  setTimeout(() => fail(new Error(`no result within ${timeout} ms`)), timeout).unref()

  const issuer = new URL(required('INTEROP_ISSUER'))
  const clientId = required('INTEROP_CLIENT_ID')
  const redirectUri = required('INTEROP_REDIRECT_URI')
  const scope = required('INTEROP_SCOPE')
  const openid = scope.split(' ').includes('openid')
  // Plain HTTP to the test's loopback server only.
  const http = { [oauth.allowInsecureRequests]: true }

  let clientAuth
  let authMethod
  if (env.INTEROP_CLIENT_KEY) {
    const key = await privateKey(env.INTEROP_CLIENT_KEY, false)
    clientAuth = oauth.PrivateKeyJwt({ key, kid: env.INTEROP_CLIENT_KID })
    authMethod = 'private_key_jwt'
  } else if (env.INTEROP_CLIENT_SECRET) {
    clientAuth = oauth.ClientSecretBasic(env.INTEROP_CLIENT_SECRET)
    authMethod = 'client_secret_basic'
  } else if (env.INTEROP_AUTH_NONE === '1') {
    clientAuth = oauth.None()
    authMethod = 'none'
  } else {
    throw new Error('set INTEROP_CLIENT_KEY, INTEROP_CLIENT_SECRET or INTEROP_AUTH_NONE=1')
  }
  const client = { client_id: clientId, require_auth_time: openid }
  const dpop = env.INTEROP_DPOP_KEY
    ? oauth.DPoP(client, await keyPair(env.INTEROP_DPOP_KEY))
    : undefined
  const refreshDpop = env.INTEROP_REFRESH_DPOP_KEY
    ? oauth.DPoP(client, await keyPair(env.INTEROP_REFRESH_DPOP_KEY))
    : dpop
  const nonceRetries = {}

  stage = 'discovery'
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...http }),
  )

  stage = 'authorization_request'
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = openid ? oauth.generateRandomNonce() : undefined
  const params = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  })
  if (nonce) params.set('nonce', nonce)
  const authorizationUrl = new URL(as.authorization_endpoint)
  let pushed
  if (env.INTEROP_PAR === '1') {
    stage = 'par'
    pushed = await withNonceRetry(nonceRetries, async () =>
      oauth.processPushedAuthorizationResponse(
        as,
        client,
        await oauth.pushedAuthorizationRequest(as, client, clientAuth, params, {
          DPoP: dpop,
          ...http,
        }),
      ),
    )
    authorizationUrl.searchParams.set('client_id', clientId)
    authorizationUrl.searchParams.set('request_uri', pushed.request_uri)
  } else {
    authorizationUrl.search = params.toString()
  }
  emit({ event: 'authorize', url: authorizationUrl.href })

  stage = 'callback'
  const callback = new URL(await readLine())
  const callbackParams = oauth.validateAuthResponse(as, client, callback, state)

  stage = 'token'
  let tokenResponse
  const response = await withNonceRetry(nonceRetries, async () => {
    tokenResponse = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      clientAuth,
      callbackParams,
      redirectUri,
      codeVerifier,
      { DPoP: dpop, ...http },
    )
    return oauth.processAuthorizationCodeResponse(as, client, tokenResponse, {
      expectedNonce: nonce,
      requireIdToken: openid,
    })
  })
  const idTokenClaims = oauth.getValidatedIdTokenClaims(response)
  if (openid) {
    // The ID token's signature by a key of the issuer's JWKS (OpenID Connect Core §3.1.3.7).
    stage = 'id_token_signature'
    await oauth.validateApplicationLevelSignature(as, tokenResponse, http)
  }

  stage = 'refresh'
  const refreshed = await withNonceRetry(nonceRetries, async () =>
    oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, response.refresh_token, {
        DPoP: refreshDpop,
        ...http,
      }),
    ),
  )
  const refreshedIdTokenClaims = oauth.getValidatedIdTokenClaims(refreshed)

  let userinfo
  if (openid) {
    stage = 'userinfo'
    userinfo = await withNonceRetry(nonceRetries, async () =>
      oauth.processUserInfoResponse(
        as,
        client,
        idTokenClaims.sub,
        await oauth.userInfoRequest(as, client, refreshed.access_token, {
          DPoP: refreshDpop,
          ...http,
        }),
      ),
    )
  }

  emit({
    event: 'done',
    auth_method: authMethod,
    par: pushed ? { request_uri: pushed.request_uri, expires_in: pushed.expires_in } : null,
    dpop_jkt: dpop ? await dpop.calculateThumbprint() : null,
    refresh_dpop_jkt: refreshDpop ? await refreshDpop.calculateThumbprint() : null,
    dpop_nonce_retries: nonceRetries,
    iss: callbackParams.get('iss'),
    token: {
      token_type: response.token_type,
      scope: response.scope ?? null,
      expires_in: response.expires_in,
      access_token: response.access_token,
      has_refresh_token: typeof response.refresh_token === 'string',
      id_token_claims: idTokenClaims ?? null,
    },
    refresh: {
      token_type: refreshed.token_type,
      scope: refreshed.scope ?? null,
      access_token: refreshed.access_token,
      rotated: typeof refreshed.refresh_token === 'string' &&
        refreshed.refresh_token !== response.refresh_token,
      id_token_claims: refreshedIdTokenClaims ?? null,
    },
    userinfo: userinfo ?? null,
  })
  process.exit(0)
}

main().catch(fail)
