//! A `private_key_jwt` client assertion (RFC 7523 §2.2, §3; OpenID Connect Core §9): the JWS
//! read, its signature checked against the client's keys and its claims against the client,
//! the audience and `now`. Pure: spending its `jti` once is the store's (`clients`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::clock::UnixTime;
use crate::jwk::{JwsAlg, PublicKeys, SignatureRefused};

/// `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far ahead of the service's clock an `iat` or `nbf` may be: the clocks of two machines
/// differ a little (RFC 7523 §3 allows "some small leeway").
pub const MAX_SKEW: UnixTime = 60;

/// How long ahead an `exp` may be, beyond [`MAX_SKEW`]: an assertion's `jti` is remembered
/// until its `exp`, at every replica, so an assertion valid for days would hold the store's
/// memory for days (RFC 7523 §3 lets a server refuse an `exp` "unreasonably far in the
/// future"). An hour is what common client libraries use at most (authlib's default).
pub const MAX_LIFETIME: UnixTime = 3600;

/// Why an assertion does not authenticate its client. Every reason answers the same
/// `invalid_client`; the reason is only logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// `client_assertion_type` is missing or not [`JWT_BEARER`].
    AssertionType,
    /// Not a compact JWS with a JSON header and JSON claims of the right types.
    Malformed,
    /// `alg` is `none`, an HMAC or another the service does not take.
    Algorithm,
    /// A `crit` header names extensions the service does not understand (RFC 7515 §4.1.11).
    Critical,
    /// No client by that id.
    UnknownClient,
    /// The client authenticates otherwise.
    MethodNotAllowed,
    Signature(SignatureRefused),
    /// `iss` is not the client (or not the `client_id` sent beside the assertion).
    Issuer,
    /// `sub` is not the client.
    Subject,
    /// `aud` names neither the issuer nor, where accepted, the endpoint.
    Audience,
    MissingExpiry,
    Expired,
    /// `exp` more than [`MAX_LIFETIME`] and [`MAX_SKEW`] ahead.
    TooLong,
    /// `iat` or `nbf` more than [`MAX_SKEW`] ahead.
    FromTheFuture,
    MissingJti,
    /// The `jti` was spent already.
    Replayed,
}

impl Refused {
    /// For the log line.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::AssertionType => "client_assertion_type is not jwt-bearer",
            Refused::Malformed => "not a JWS with JSON header and claims",
            Refused::Algorithm => "alg not accepted",
            Refused::Critical => "crit header",
            Refused::UnknownClient => "unknown client",
            Refused::MethodNotAllowed => "the client does not use private_key_jwt",
            Refused::Signature(SignatureRefused::UnknownKid) => "unknown kid",
            Refused::Signature(SignatureRefused::NoKeyForAlg) => "no key for alg",
            Refused::Signature(SignatureRefused::BadSignature) => "bad signature",
            Refused::Issuer => "iss is not the client",
            Refused::Subject => "sub is not the client",
            Refused::Audience => "aud is not this server",
            Refused::MissingExpiry => "no exp",
            Refused::Expired => "expired",
            Refused::TooLong => "exp too far ahead",
            Refused::FromTheFuture => "iat or nbf ahead of the clock",
            Refused::MissingJti => "no jti",
            Refused::Replayed => "jti replayed",
        }
    }
}

impl From<SignatureRefused> for Refused {
    fn from(refused: SignatureRefused) -> Self {
        Refused::Signature(refused)
    }
}

/// The audiences an assertion may name: the issuer identifier, and, unless a client's profile
/// allows the issuer only, the URL of the endpoint it was sent to (RFC 7523 §3; RFC 9126 §2).
#[derive(Clone, Copy, Debug)]
pub struct Audience<'a> {
    /// The issuer identifier, `TS_ISSUER` without a trailing slash.
    pub issuer: &'a str,
    /// The endpoint's path under the issuer (`/token`), when its URL is accepted too.
    pub endpoint: Option<&'a str>,
}

impl Audience<'_> {
    fn accepts(&self, aud: &str) -> bool {
        aud == self.issuer
            || self
                .endpoint
                .is_some_and(|path| aud.strip_prefix(self.issuer) == Some(path))
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<IgnoredAny>,
}

/// `aud`: one string or an array of them (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Aud {
    One(String),
    Many(Vec<String>),
}

/// The claims RFC 7523 §3 asks about; others are ignored. NumericDates may have fractions
/// (RFC 7519 §2).
#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Aud>,
    exp: Option<f64>,
    iat: Option<f64>,
    nbf: Option<f64>,
    jti: Option<String>,
}

/// An assertion read but not yet trusted.
pub struct Assertion<'a> {
    alg: JwsAlg,
    kid: Option<String>,
    /// `header.payload`, what the signature covers (RFC 7515 §5.2).
    signing_input: &'a str,
    signature: Vec<u8>,
    claims: Claims,
}

/// What a verified assertion leaves to do: spend its `jti` once, until it expires.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub jti: String,
    /// `exp`, rounded up: the `jti` is remembered as long as the assertion is valid.
    pub expires_at: UnixTime,
}

impl<'a> Assertion<'a> {
    /// Reads a compact JWS (RFC 7515 §7.1): three base64url segments, a JSON header with an
    /// accepted `alg` and no `crit`, JSON claims. `typ` is not required (RFC 7523 §3 names
    /// none).
    pub fn parse(jwt: &'a str) -> Result<Self, Refused> {
        let (signing_input, signature) = jwt.rsplit_once('.').ok_or(Refused::Malformed)?;
        let (header, payload) = signing_input
            .split_once('.')
            .filter(|(_, payload)| !payload.contains('.'))
            .ok_or(Refused::Malformed)?;
        let decode = |segment: &str| B64.decode(segment).map_err(|_| Refused::Malformed);
        let header: Header =
            serde_json::from_slice(&decode(header)?).map_err(|_| Refused::Malformed)?;
        if header.crit.is_some() {
            return Err(Refused::Critical);
        }
        let alg = JwsAlg::named(&header.alg).ok_or(Refused::Algorithm)?;
        let claims = serde_json::from_slice(&decode(payload)?).map_err(|_| Refused::Malformed)?;
        Ok(Assertion {
            alg,
            kid: header.kid,
            signing_input,
            signature: decode(signature)?,
            claims,
        })
    }

    /// The client the assertion says it is from, unverified: where to find the keys.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.iss.as_deref()
    }

    /// Checks the signature with the client's keys, then the claims (RFC 7523 §3).
    pub fn verify(
        self,
        keys: &PublicKeys,
        client_id: &str,
        audience: &Audience<'_>,
        now: UnixTime,
    ) -> Result<Verified, Refused> {
        keys.verify(
            self.alg,
            self.kid.as_deref(),
            self.signing_input.as_bytes(),
            &self.signature,
        )?;
        self.claims.check(client_id, audience, now)
    }
}

impl Claims {
    /// RFC 7523 §3: `iss` and `sub` the client, `aud` this server, `exp` ahead but within
    /// [`MAX_LIFETIME`], `iat` and `nbf` not ahead beyond [`MAX_SKEW`], a `jti` (OpenID Connect
    /// Core §9 requires one).
    fn check(
        self,
        client_id: &str,
        audience: &Audience<'_>,
        now: UnixTime,
    ) -> Result<Verified, Refused> {
        if self.iss.as_deref() != Some(client_id) {
            return Err(Refused::Issuer);
        }
        if self.sub.as_deref() != Some(client_id) {
            return Err(Refused::Subject);
        }
        let audience_ok = match &self.aud {
            None => false,
            Some(Aud::One(aud)) => audience.accepts(aud),
            Some(Aud::Many(auds)) => auds.iter().any(|aud| audience.accepts(aud)),
        };
        if !audience_ok {
            return Err(Refused::Audience);
        }
        let exp = self.exp.ok_or(Refused::MissingExpiry)?;
        if exp <= now as f64 {
            return Err(Refused::Expired);
        }
        if exp > (now + MAX_LIFETIME + MAX_SKEW) as f64 {
            return Err(Refused::TooLong);
        }
        let latest = (now + MAX_SKEW) as f64;
        if self.iat.is_some_and(|iat| iat > latest) || self.nbf.is_some_and(|nbf| nbf > latest) {
            return Err(Refused::FromTheFuture);
        }
        let jti = self
            .jti
            .filter(|jti| !jti.is_empty())
            .ok_or(Refused::MissingJti)?;
        Ok(Verified {
            jti,
            expires_at: exp.ceil() as UnixTime,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const NOW: UnixTime = 1_800_000_000;
    const ISSUER: &str = "https://as.example";
    const TOKEN: Audience<'static> = Audience {
        issuer: ISSUER,
        endpoint: Some("/token"),
    };

    fn claims(changes: Value) -> Value {
        let mut claims = json!({"iss": "c", "sub": "c", "aud": ISSUER, "exp": NOW + 60,
            "iat": NOW, "jti": "j1"});
        for (name, value) in changes.as_object().unwrap() {
            match value {
                Value::Null => claims.as_object_mut().unwrap().remove(name),
                value => claims
                    .as_object_mut()
                    .unwrap()
                    .insert(name.clone(), value.clone()),
            };
        }
        claims
    }

    fn check_with(changes: Value, audience: &Audience<'_>) -> Result<Verified, Refused> {
        let claims: Claims = serde_json::from_value(claims(changes)).unwrap();
        claims.check("c", audience, NOW)
    }

    fn check(changes: Value) -> Result<Verified, Refused> {
        check_with(changes, &TOKEN)
    }

    #[test]
    fn claims_naming_the_client_and_the_issuer_in_time_verify_to_their_jti() {
        assert_eq!(
            check(json!({})),
            Ok(Verified {
                jti: "j1".into(),
                expires_at: NOW + 60
            })
        );
    }

    #[test]
    fn iss_and_sub_must_both_be_the_client() {
        assert_eq!(check(json!({"iss": "other"})), Err(Refused::Issuer));
        assert_eq!(check(json!({"iss": null})), Err(Refused::Issuer));
        assert_eq!(check(json!({"sub": "other"})), Err(Refused::Subject));
        assert_eq!(check(json!({"sub": null})), Err(Refused::Subject));
    }

    #[test]
    fn aud_is_the_issuer_or_the_endpoint_url_as_a_string_or_in_an_array() {
        for aud in [
            json!(ISSUER),
            json!("https://as.example/token"),
            json!(["https://rs.example", ISSUER]),
        ] {
            assert!(check(json!({ "aud": aud })).is_ok(), "{aud}");
        }
        for aud in [
            json!("https://as.example/"),
            json!("https://as.example/revoke"),
            json!("https://as.example.evil/token"),
            json!([]),
            json!(["https://rs.example"]),
        ] {
            assert_eq!(
                check(json!({ "aud": aud })),
                Err(Refused::Audience),
                "{aud}"
            );
        }
        assert_eq!(check(json!({"aud": null})), Err(Refused::Audience));
    }

    #[test]
    fn without_the_endpoint_only_the_issuer_is_an_audience() {
        let issuer_only = Audience {
            issuer: ISSUER,
            endpoint: None,
        };
        assert!(check_with(json!({}), &issuer_only).is_ok());
        assert_eq!(
            check_with(json!({"aud": "https://as.example/token"}), &issuer_only),
            Err(Refused::Audience)
        );
    }

    #[test]
    fn exp_must_be_present_and_ahead_of_now() {
        assert_eq!(check(json!({"exp": null})), Err(Refused::MissingExpiry));
        assert_eq!(check(json!({"exp": NOW})), Err(Refused::Expired));
        assert_eq!(
            check(json!({"exp": NOW as f64 + 0.5})).unwrap().expires_at,
            NOW + 1
        );
    }

    #[test]
    fn exp_may_be_at_most_an_hour_and_the_skew_ahead() {
        let latest = NOW + MAX_LIFETIME + MAX_SKEW;
        assert_eq!(check(json!({"exp": latest})).unwrap().expires_at, latest);
        for exp in [json!(latest + 1), json!(1e30)] {
            assert_eq!(check(json!({ "exp": exp })), Err(Refused::TooLong), "{exp}");
        }
    }

    #[test]
    fn iat_and_nbf_may_be_up_to_60_seconds_ahead() {
        for claim in ["iat", "nbf"] {
            assert!(check(json!({ claim: NOW + 60 })).is_ok(), "{claim}");
            assert_eq!(
                check(json!({ claim: NOW + 61 })),
                Err(Refused::FromTheFuture),
                "{claim}"
            );
        }
        assert!(check(json!({"iat": null})).is_ok(), "iat is optional");
    }

    #[test]
    fn a_jti_is_required_and_not_empty() {
        assert_eq!(check(json!({"jti": null})), Err(Refused::MissingJti));
        assert_eq!(check(json!({"jti": ""})), Err(Refused::MissingJti));
    }

    fn jws(header: Value, claims: Value) -> String {
        let part = |v: &Value| B64.encode(v.to_string());
        format!("{}.{}.{}", part(&header), part(&claims), B64.encode("sig"))
    }

    #[test]
    fn none_hmac_and_unknown_algorithms_are_refused_before_any_key() {
        for alg in ["none", "HS256", "ES384", "es256", "RSA-OAEP"] {
            let jwt = jws(json!({"alg": alg}), claims(json!({})));
            assert_eq!(
                Assertion::parse(&jwt).err(),
                Some(Refused::Algorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn a_crit_header_is_refused() {
        let jwt = jws(json!({"alg": "ES256", "crit": ["exp"]}), claims(json!({})));
        assert_eq!(Assertion::parse(&jwt).err(), Some(Refused::Critical));
    }

    #[test]
    fn any_typ_is_accepted_and_the_issuer_is_read_before_verification() {
        let jwt = jws(
            json!({"alg": "EdDSA", "typ": "whatever"}),
            claims(json!({})),
        );
        let assertion = Assertion::parse(&jwt).unwrap();
        assert_eq!(assertion.issuer(), Some("c"));
        assert_eq!(assertion.signature, b"sig");
        assert_eq!(assertion.signing_input, jwt.rsplit_once('.').unwrap().0);
    }

    #[test]
    fn anything_but_a_compact_jws_with_json_parts_is_malformed() {
        let good = jws(json!({"alg": "ES256"}), claims(json!({})));
        for jwt in [
            String::new(),
            "a.b".to_owned(),
            format!("{good}.extra"),
            good.replacen('.', ".!", 1),
            jws(json!(["alg"]), claims(json!({}))),
            jws(json!({"alg": "ES256", "kid": 7}), claims(json!({}))),
            jws(json!({"alg": "ES256"}), json!({"iss": 1})),
            jws(json!({"alg": "ES256"}), json!({"exp": "tomorrow"})),
            jws(json!({"alg": "ES256"}), json!({"aud": [1]})),
        ] {
            assert_eq!(
                Assertion::parse(&jwt).err(),
                Some(Refused::Malformed),
                "{jwt}"
            );
        }
    }
}
