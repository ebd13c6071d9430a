//! DPoP proofs (RFC 9449): the check of a proof for one request to one endpoint, the JWK
//! thumbprint (RFC 7638) that binds tokens to the proof's key, `ath`, and the server's
//! stateless nonces. Pure: the time, the expected method and URL, and the nonce keys are
//! parameters; the single use of `jti` is the caller's (`sender`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::hmac;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::clock::UnixTime;
use crate::json;
use crate::jwk::{JwsAlg, PublicJwk, PublicKeys};

/// How far a proof's `iat` may be from the server's time, either way (RFC 9449 §11.1: "a
/// relatively brief period"). A proof's `jti` is remembered this long after its `iat`.
pub const IAT_WINDOW: u64 = 60;

/// The longest proof read: a proof carries one public key, an RSA one at most 8192 bits.
const MAX_PROOF_LEN: usize = 8 * 1024;

/// The longest `jti` accepted (RFC 9449 §4.2 asks for at least 96 bits of randomness).
const MAX_JTI_LEN: usize = 256;

/// The `alg` values a proof may use (discovery's `dpop_signing_alg_values_supported`).
pub fn algorithms() -> [&'static str; 4] {
    JwsAlg::ALL.map(JwsAlg::as_str)
}

/// What the request a proof comes with is: the proof must say the same (RFC 9449 §4.3).
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The HTTP method, `htm`.
    pub method: &'a str,
    /// The endpoint's URL from the issuer (`TS_ISSUER` + path), `htu`.
    pub url: &'a str,
    /// The access token presented with the proof at a protected resource: `ath` must be its
    /// hash (RFC 9449 §4.3 point 12, §7).
    pub access_token: Option<&'a str>,
}

/// An accepted proof: the key it binds to and what its single use needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// RFC 7638 thumbprint of the proof's key: `cnf.jkt` of a bound token (RFC 9449 §6.1).
    pub jkt: String,
    pub jti: String,
    pub iat: UnixTime,
    /// The server nonce the proof carries, if any (RFC 9449 §8); the caller checks it.
    pub nonce: Option<String>,
}

impl Proof {
    /// What the store spends to refuse a replay: the `jti` is unique per key (RFC 9449 §11.1).
    /// A thumbprint has no `.`, so the pair reads one way only.
    pub fn replay_id(&self) -> String {
        format!("{}.{}", self.jkt, self.jti)
    }

    /// Until when a replay must be refused: past it, `iat` refuses the proof anyway.
    pub fn remembered_until(&self) -> UnixTime {
        self.iat.saturating_add(IAT_WINDOW + 1)
    }
}

/// Why a proof is refused: the `error_description` of `invalid_dpop_proof`, naming the
/// check, never echoing the proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// Checks a DPoP proof (RFC 9449 §4.3) for a request `expected` describes, at `now`.
pub fn check(proof: &str, expected: &Expected<'_>, now: UnixTime) -> Result<Proof, Refused> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(Refused("the DPoP proof is too long"));
    }
    let mut segments = proof.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(Refused("the DPoP proof is not a compact JWS"));
    };
    let header = json_object(header_b64).ok_or(Refused("the DPoP proof's header is not JSON"))?;
    let claims = json_object(claims_b64).ok_or(Refused("the DPoP proof's claims are not JSON"))?;
    let signature = B64
        .decode(signature_b64)
        .map_err(|_| Refused("the DPoP proof's signature is not base64url"))?;

    // RFC 9449 §4.2: `typ` dpop+jwt, a media type compared without case (RFC 7515 §4.1.9).
    let typ = header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt")) {
        return Err(Refused("the DPoP proof's typ is not dpop+jwt"));
    }
    // RFC 7515 §4.1.11: we understand no extension.
    if header.contains_key("crit") {
        return Err(Refused("the DPoP proof names critical extensions"));
    }
    // RFC 9449 §4.3 point 5: an asymmetric algorithm; never `none`, never an HMAC.
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(JwsAlg::named)
        .ok_or(Refused(
            "the DPoP proof's alg is not one of ES256, EdDSA, PS256, RS256",
        ))?;
    // RFC 9449 §4.3 point 7: a public key, with no private member.
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(Refused("the DPoP proof has no jwk"))?;
    let key = PublicJwk::parse(jwk)
        .map(PublicKeys::from)
        .map_err(|_| Refused("the DPoP proof's jwk is not a supported public key"))?;
    let signing_input = &proof[..header_b64.len() + 1 + claims_b64.len()];
    key.verify(alg, None, signing_input.as_bytes(), &signature)
        .map_err(|_| Refused("the DPoP proof's signature does not verify with its jwk"))?;
    let jkt = thumbprint(jwk).ok_or(Refused("the DPoP proof's jwk has no thumbprint"))?;

    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or(Refused("the DPoP proof has no jti"))?;
    if text("htm") != Some(expected.method) {
        return Err(Refused("the DPoP proof's htm is not this request's method"));
    }
    if !text("htu").is_some_and(|htu| same_endpoint(htu, expected.url)) {
        return Err(Refused("the DPoP proof's htu is not this endpoint's URL"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or(Refused("the DPoP proof has no iat"))?;
    if iat.abs_diff(now) > IAT_WINDOW {
        return Err(Refused(
            "the DPoP proof's iat is not within 60 seconds of now",
        ));
    }
    if let Some(token) = expected.access_token
        && text("ath") != Some(ath(token).as_str())
    {
        return Err(Refused(
            "the DPoP proof's ath is not the hash of the access token",
        ));
    }
    Ok(Proof {
        jkt,
        jti: jti.to_owned(),
        iat,
        nonce: text("nonce").map(str::to_owned),
    })
}

fn json_object(segment: &str) -> Option<Map<String, Value>> {
    serde_json::from_slice(&B64.decode(segment).ok()?).ok()
}

/// RFC 9449 §4.3 point 9: `htu` is the request's URI without query and fragment, compared
/// after syntax-based normalization (RFC 3986 §6.2.2, §6.2.3: case of scheme and host,
/// default port, percent-encoding), which parsing as a URL does.
fn same_endpoint(htu: &str, endpoint: &str) -> bool {
    // The endpoint's URL has no query or fragment: the same text is the same URL.
    if htu == endpoint {
        return true;
    }
    let bare = |text: &str| {
        let mut url = url::Url::parse(text).ok()?;
        url.set_query(None);
        url.set_fragment(None);
        Some(url)
    };
    match (bare(htu), bare(endpoint)) {
        (Some(htu), Some(endpoint)) => htu == endpoint,
        _ => false,
    }
}

/// The RFC 7638 thumbprint of a public JWK: base64url SHA-256 of its required members in
/// lexicographic order, without whitespace. `None` for a key type it does not know.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    let members: &[&str] = match member("kty")? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = Vec::with_capacity(160);
    canonical.push(b'{');
    for (n, name) in members.iter().enumerate() {
        if n > 0 {
            canonical.push(b',');
        }
        json::push_str(&mut canonical, name);
        canonical.push(b':');
        json::push_str(&mut canonical, member(name)?);
    }
    canonical.push(b'}');
    Some(sha256_b64(&canonical))
}

fn sha256_b64(bytes: &[u8]) -> String {
    B64.encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// `ath`: base64url SHA-256 of the access token's ASCII (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    sha256_b64(access_token.as_bytes())
}

/// Whether `value` is the form of a SHA-256 thumbprint (43 base64url characters), as
/// `dpop_jkt` must be (RFC 9449 §10).
pub fn is_thumbprint(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Server nonces (RFC 9449 §8) that any replica can check with no shared state: a MAC over a
/// time slot by a key derived from the signing keys, which every replica holds. A nonce is
/// accepted during its own slot and the next [`NONCE_SLOTS_AFTER`]: from 120 s up to 180 s
/// after it was issued, and a slot ahead is accepted for replicas whose clocks differ a bit.
pub const NONCE_SLOT: u64 = 60;
pub const NONCE_SLOTS_AFTER: u64 = 2;

/// A fresh nonce for `now`, by `key`: base64url of the slot and 128 bits of its MAC.
pub fn nonce(key: &hmac::Key, now: UnixTime) -> String {
    let slot = (now / NONCE_SLOT).to_be_bytes();
    let tag = hmac::sign(key, &slot);
    let mut bytes = [0u8; 8 + 16];
    bytes[..8].copy_from_slice(&slot);
    bytes[8..].copy_from_slice(&tag.as_ref()[..16]);
    B64.encode(bytes)
}

/// Whether `nonce` was made by one of `keys` for a slot still accepted at `now`.
pub fn nonce_is_fresh<'k>(
    keys: impl IntoIterator<Item = &'k hmac::Key>,
    nonce: &str,
    now: UnixTime,
) -> bool {
    let Ok(bytes) = B64.decode(nonce) else {
        return false;
    };
    let Some((slot, tag)) = bytes.split_first_chunk::<8>() else {
        return false;
    };
    if tag.len() != 16 {
        return false;
    }
    let issued = u64::from_be_bytes(*slot);
    let current = now / NONCE_SLOT;
    if issued > current.saturating_add(1) || issued.saturating_add(NONCE_SLOTS_AFTER) < current {
        return false;
    }
    // A truncated tag (`hmac::verify` takes the full one), compared in constant time.
    keys.into_iter().any(|key| {
        let full = hmac::sign(key, slot);
        bool::from(full.as_ref()[..16].ct_eq(tag))
    })
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    use super::*;

    const NOW: UnixTime = 1_800_000_000;
    const URL: &str = "https://auth.example/token";

    struct Key {
        pair: EcdsaKeyPair,
        jwk: Value,
    }

    fn key() -> Key {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]),
            "y": B64.encode(&point[33..65])});
        Key { pair, jwk }
    }

    impl Key {
        fn sign(&self, header: &Value, claims: &Value) -> String {
            let input = format!(
                "{}.{}",
                B64.encode(header.to_string()),
                B64.encode(claims.to_string())
            );
            let sig = self
                .pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap();
            format!("{input}.{}", B64.encode(sig.as_ref()))
        }

        fn header(&self) -> Value {
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk})
        }
    }

    fn claims() -> Value {
        json!({"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW})
    }

    fn expected() -> Expected<'static> {
        Expected {
            method: "POST",
            url: URL,
            access_token: None,
        }
    }

    fn refused(proof: &str) -> &'static str {
        check(proof, &expected(), NOW).unwrap_err().0
    }

    #[test]
    fn a_good_proof_names_its_keys_thumbprint_and_its_jti() {
        let key = key();
        let proof = check(&key.sign(&key.header(), &claims()), &expected(), NOW).unwrap();
        assert_eq!(proof.jkt, thumbprint(key.jwk.as_object().unwrap()).unwrap());
        assert_eq!((proof.jti.as_str(), proof.iat), ("j-1", NOW));
        assert_eq!(proof.nonce, None);
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s_example() {
        // RFC 7638 §3.1.
        let jwk = json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_typ_other_than_dpop_jwt_is_refused() {
        let key = key();
        let mut header = key.header();
        header["typ"] = json!("JWT");
        assert_eq!(
            refused(&key.sign(&header, &claims())),
            "the DPoP proof's typ is not dpop+jwt"
        );
    }

    #[test]
    fn alg_none_and_hmac_are_refused() {
        let key = key();
        for alg in ["none", "HS256"] {
            let mut header = key.header();
            header["alg"] = json!(alg);
            let proof = key.sign(&header, &claims());
            assert!(refused(&proof).contains("alg"), "{alg}");
        }
    }

    #[test]
    fn a_jwk_with_a_private_member_is_refused() {
        let key = key();
        for member in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            let mut header = key.header();
            header["jwk"][member] = json!("AAAA");
            assert_eq!(
                refused(&key.sign(&header, &claims())),
                "the DPoP proof's jwk is not a supported public key",
                "{member}"
            );
        }
    }

    #[test]
    fn a_missing_jwk_is_refused() {
        let key = key();
        let header = json!({"typ": "dpop+jwt", "alg": "ES256"});
        assert_eq!(
            refused(&key.sign(&header, &claims())),
            "the DPoP proof has no jwk"
        );
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let (key, other) = (key(), key());
        let proof = other.sign(&key.header(), &claims());
        assert!(refused(&proof).contains("signature"));
    }

    #[test]
    fn a_critical_extension_is_refused() {
        let key = key();
        let mut header = key.header();
        header["crit"] = json!(["exp"]);
        assert!(refused(&key.sign(&header, &claims())).contains("critical"));
    }

    #[test]
    fn a_missing_or_empty_jti_is_refused() {
        let key = key();
        for jti in [Value::Null, json!(""), json!(7)] {
            let mut claims = claims();
            claims["jti"] = jti;
            assert_eq!(
                refused(&key.sign(&key.header(), &claims)),
                "the DPoP proof has no jti"
            );
        }
    }

    #[test]
    fn another_method_is_refused() {
        let key = key();
        let mut claims = claims();
        claims["htm"] = json!("GET");
        assert!(refused(&key.sign(&key.header(), &claims)).contains("htm"));
    }

    #[test]
    fn htu_ignores_query_and_fragment_and_normalizes_but_names_the_endpoint() {
        let key = key();
        for (htu, ok) in [
            ("https://auth.example/token?x=1#f", true),
            ("HTTPS://AUTH.example:443/token", true),
            ("https://auth.example/token/", false),
            ("https://auth.example/userinfo", false),
            ("https://other.example/token", false),
            ("not a url", false),
        ] {
            let mut claims = claims();
            claims["htu"] = json!(htu);
            let result = check(&key.sign(&key.header(), &claims), &expected(), NOW);
            assert_eq!(result.is_ok(), ok, "{htu}");
        }
    }

    #[test]
    fn iat_must_be_within_60_seconds_either_way() {
        let key = key();
        for (iat, ok) in [
            (NOW - 60, true),
            (NOW + 60, true),
            (NOW - 61, false),
            (NOW + 61, false),
        ] {
            let mut claims = claims();
            claims["iat"] = json!(iat);
            let result = check(&key.sign(&key.header(), &claims), &expected(), NOW);
            assert_eq!(result.is_ok(), ok, "{iat}");
        }
        let mut claims = claims();
        claims["iat"] = json!("now");
        assert_eq!(
            refused(&key.sign(&key.header(), &claims)),
            "the DPoP proof has no iat"
        );
    }

    #[test]
    fn ath_must_hash_the_access_token_when_one_goes_with_the_proof() {
        let key = key();
        let with_token = Expected {
            access_token: Some("token-a"),
            ..expected()
        };
        let mut claims = claims();
        assert!(check(&key.sign(&key.header(), &claims), &with_token, NOW).is_err());
        claims["ath"] = json!(ath("token-b"));
        assert!(check(&key.sign(&key.header(), &claims), &with_token, NOW).is_err());
        claims["ath"] = json!(ath("token-a"));
        assert!(check(&key.sign(&key.header(), &claims), &with_token, NOW).is_ok());
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for proof in [
            "", "a", "a.b", "a.b.c", "a.b.c.d", "...", "e30.e30.", "\u{0}",
        ] {
            assert!(check(proof, &expected(), NOW).is_err(), "{proof:?}");
        }
        assert!(check(&"a".repeat(MAX_PROOF_LEN + 1), &expected(), NOW).is_err());
    }

    #[test]
    fn the_replay_id_is_unique_per_key_and_jti() {
        let proof = |jkt: &str, jti: &str| Proof {
            jkt: jkt.into(),
            jti: jti.into(),
            iat: NOW,
            nonce: None,
        };
        assert_eq!(proof("k", "j.1").replay_id(), "k.j.1");
        assert_ne!(proof("k1", "j").replay_id(), proof("k2", "j").replay_id());
        assert_eq!(proof("k", "j").remembered_until(), NOW + IAT_WINDOW + 1);
    }

    fn hmac_key(seed: u8) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &[seed; 32])
    }

    #[test]
    fn a_nonce_lives_at_least_120_and_at_most_180_seconds() {
        let key = hmac_key(1);
        let start = NOW - NOW % NONCE_SLOT;
        let early = nonce(&key, start);
        assert!(nonce_is_fresh([&key], &early, start + 179));
        assert!(!nonce_is_fresh([&key], &early, start + 180));
        let late = nonce(&key, start + 59);
        assert!(nonce_is_fresh([&key], &late, start + 59 + 120));
        // A replica whose clock is a little behind accepts it too.
        assert!(nonce_is_fresh([&key], &late, start - 1));
        assert!(!nonce_is_fresh([&key], &late, start - 61));
    }

    #[test]
    fn a_nonce_is_accepted_by_any_key_it_was_made_with_and_no_other() {
        let (a, b) = (hmac_key(1), hmac_key(2));
        let made = nonce(&a, NOW);
        assert!(nonce_is_fresh([&b, &a], &made, NOW));
        assert!(!nonce_is_fresh([&b], &made, NOW));
        for garbage in ["", "AAAA", &made[..made.len() - 1], "!!"] {
            assert!(!nonce_is_fresh([&a], garbage, NOW), "{garbage:?}");
        }
    }

    #[test]
    fn a_thumbprint_has_the_form_dpop_jkt_takes() {
        let key = key();
        assert!(is_thumbprint(
            &thumbprint(key.jwk.as_object().unwrap()).unwrap()
        ));
        assert!(!is_thumbprint("short"));
    }
}
