//! Client authentication (RFC 6749 §2.3): `client_secret_basic` or `client_secret_post`, with
//! argon2 once per (client, secret) through the verified-secret cache beside the pool
//! (docs/design.md, "Load, faults and bad input"); `private_key_jwt` (RFC 7523 §2.2), whose
//! signature and claims are checked before its `jti` is spent in the store; public clients by
//! `client_id` alone. Every endpoint that authenticates clients comes through [`authenticate`].

use std::borrow::Cow;
use std::sync::Arc;

use crate::client_assertion::{Assertion, Audience, JWT_BEARER, Refused, Verified};
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::password::{Argon2Pool, SecretCache, sha256};
use crate::records::{AuthMethod, Client, Clients};
use crate::store::{Hashed, OnceKind, Store};

/// The client credentials of one request, as the HTTP layer read them.
pub struct Credentials<'a> {
    /// HTTP Basic's id, else the body's `client_id`.
    pub client_id: Option<Cow<'a, str>>,
    pub proof: Proof<'a>,
}

/// What a request presents to prove which client sends it; never more than one of these.
pub enum Proof<'a> {
    /// Nothing: a public client names itself by `client_id` alone (RFC 6749 §2.1).
    Nothing,
    /// A secret, in HTTP Basic (`client_secret_basic`) or in the body (`client_secret_post`).
    Secret {
        secret: Cow<'a, str>,
        method: AuthMethod,
    },
    /// `client_assertion_type` as sent, and `client_assertion` (RFC 7521 §4.2).
    Assertion {
        assertion_type: Option<&'a str>,
        assertion: &'a str,
    },
}

/// What client authentication uses, picked from the state by the HTTP layer.
#[derive(Clone, Copy)]
pub struct ClientAuth<'a> {
    pub clients: &'a Clients,
    pub argon2: &'a Argon2Pool,
    pub secrets: &'a SecretCache,
    /// Where an assertion's `jti` is spent, once across replicas.
    pub store: &'a Store,
    /// The issuer identifier, the audience of client assertions (RFC 7523 §3).
    pub issuer: &'a str,
}

/// Authenticates the client of a request sent to `endpoint` (its path under the issuer, as
/// `/token`) at `now`. Unknown client, wrong secret or assertion, a method the client does not
/// use, missing credentials of a confidential client and a secret sent by a public client all
/// answer `invalid_client`.
pub async fn authenticate(
    auth: ClientAuth<'_>,
    credentials: &Credentials<'_>,
    endpoint: &str,
    now: UnixTime,
) -> Result<Arc<Client>, OAuthError> {
    match &credentials.proof {
        Proof::Secret { secret, method } => {
            let client = client(auth.clients, credentials.client_id.as_deref())?;
            let Some(hash) = client
                .secret_hash
                .as_deref()
                .filter(|_| client.accepts(*method))
            else {
                return Err(OAuthError::InvalidClient);
            };
            let digest = sha256(secret);
            // Once the client's secret is known, any other is refused without argon2 and
            // without waiting for the client's turn: a flood of wrong secrets costs nothing.
            if let Some(matches) = auth.secrets.check(&client.id, &digest) {
                return accept(matches, client);
            }
            // Boxed: the room argon2's wait takes is not carried by every request's future
            // (docs/design.md, "Small futures").
            Box::pin(by_secret(auth, client, hash, secret, digest)).await
        }
        Proof::Assertion {
            assertion_type,
            assertion,
        } => {
            let claimed = credentials.client_id.as_deref();
            Box::pin(by_assertion(
                auth,
                claimed,
                *assertion_type,
                assertion,
                endpoint,
                now,
            ))
            .await
        }
        Proof::Nothing => {
            let client = client(auth.clients, credentials.client_id.as_deref())?;
            accept(client.accepts(AuthMethod::None), client)
        }
    }
}

/// `client_secret_basic` or `client_secret_post` before the client's secret is known (its
/// SHA-256 is `digest`): argon2 at most once per (client, secret).
async fn by_secret(
    auth: ClientAuth<'_>,
    client: &Arc<Client>,
    hash: &str,
    secret: &str,
    digest: [u8; 32],
) -> Result<Arc<Client>, OAuthError> {
    let id = client.id.as_str();
    let _turn = auth.secrets.turn(id).await?;
    if let Some(matches) = auth.secrets.check(id, &digest) {
        return accept(matches, client);
    }
    if auth.argon2.verify_secret(hash, secret).await? {
        auth.secrets.remember(id, digest);
        return Ok(client.clone());
    }
    Err(OAuthError::InvalidClient)
}

fn client<'c>(clients: &'c Clients, id: Option<&str>) -> Result<&'c Arc<Client>, OAuthError> {
    id.and_then(|id| clients.get(id))
        .ok_or(OAuthError::InvalidClient)
}

fn accept(matches: bool, client: &Arc<Client>) -> Result<Arc<Client>, OAuthError> {
    if matches {
        Ok(client.clone())
    } else {
        Err(OAuthError::InvalidClient)
    }
}

/// `private_key_jwt`: the assertion's signature and claims first, then its `jti`, spent once
/// across replicas for as long as the assertion is valid (RFC 7523 §3, point 7). Nothing
/// reaches the store for an assertion that does not verify.
async fn by_assertion(
    auth: ClientAuth<'_>,
    claimed: Option<&str>,
    assertion_type: Option<&str>,
    assertion: &str,
    endpoint: &str,
    now: UnixTime,
) -> Result<Arc<Client>, OAuthError> {
    let (client, verified) =
        verify_assertion(auth, claimed, assertion_type, assertion, endpoint, now)
            .map_err(refuse)?;
    // The client id has no control characters (config file), so the newline separates it.
    let once = Hashed::of(&format!("{}\n{}", client.id, verified.jti));
    if !auth
        .store
        .spend_once(OnceKind::ClientAssertion, &once, verified.expires_at, now)
        .await?
    {
        return Err(refuse(Refused::Replayed));
    }
    Ok(client.clone())
}

fn verify_assertion<'c>(
    auth: ClientAuth<'c>,
    claimed: Option<&str>,
    assertion_type: Option<&str>,
    assertion: &str,
    endpoint: &str,
    now: UnixTime,
) -> Result<(&'c Arc<Client>, Verified), Refused> {
    if assertion_type != Some(JWT_BEARER) {
        return Err(Refused::AssertionType);
    }
    let assertion = Assertion::parse(assertion)?;
    // `client_id` beside the assertion is optional (RFC 7521 §4.2); `iss` must then equal it.
    let id = claimed.or(assertion.issuer()).ok_or(Refused::Issuer)?;
    let client = auth.clients.get(id).ok_or(Refused::UnknownClient)?;
    let keys = match &client.jwks {
        Some(keys) if client.accepts(AuthMethod::PrivateKeyJwt) => keys,
        _ => return Err(Refused::MethodNotAllowed),
    };
    // Clients may address the endpoint's URL as well as the issuer, except FAPI 2.0 clients:
    // the issuer only (FAPI 2.0 Security Profile §5.3.2.1).
    let audience = Audience {
        issuer: auth.issuer,
        endpoint: (!client.is_fapi2()).then_some(endpoint),
    };
    let verified = assertion.verify(keys, &client.id, &audience, now)?;
    Ok((client, verified))
}

/// Every refused assertion is `invalid_client`; why is logged, never the assertion.
fn refuse(refused: Refused) -> OAuthError {
    tracing::debug!(reason = refused.as_str(), "client assertion refused");
    OAuthError::InvalidClient
}
