//! Public JSON Web Keys (RFC 7517) that clients register, and the check of a JWS signature
//! (RFC 7515) against them: ES256, EdDSA, PS256 and RS256 (RFC 7518 §3, RFC 8037), through
//! `ring`. A JWK with a private member is refused: the config file holds public keys only.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

/// The JWS algorithms a client may sign with. Never `none`, never an HMAC: a shared key would
/// be a secret in the config file (RFC 7523 §2.2 assertions are signed with the client's
/// private key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwsAlg {
    ES256,
    EdDSA,
    PS256,
    RS256,
}

impl JwsAlg {
    pub const ALL: [JwsAlg; 4] = [JwsAlg::ES256, JwsAlg::EdDSA, JwsAlg::PS256, JwsAlg::RS256];

    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlg::ES256 => "ES256",
            JwsAlg::EdDSA => "EdDSA",
            JwsAlg::PS256 => "PS256",
            JwsAlg::RS256 => "RS256",
        }
    }

    /// The algorithm an `alg` header or member names; case-sensitive (RFC 7515 §4.1.1).
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }
}

/// Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037
/// §2).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The key material, decoded once.
enum Material {
    /// The uncompressed P-256 point `04 || x || y`.
    P256(Vec<u8>),
    /// The 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
    /// Modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl Material {
    /// Whether a key of this type signs with `alg` (RFC 7518 §3.1).
    fn signs(&self, alg: JwsAlg) -> bool {
        match self {
            Material::P256(_) => alg == JwsAlg::ES256,
            Material::Ed25519(_) => alg == JwsAlg::EdDSA,
            Material::Rsa { .. } => matches!(alg, JwsAlg::PS256 | JwsAlg::RS256),
        }
    }
}

/// Why a JWK or a JWK Set is not accepted; its text completes "client \"…\": jwks …" in a
/// start-up error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwkRefused {
    /// A member only a private or symmetric key has.
    PrivateMember(&'static str),
    NotAString(&'static str),
    Missing(&'static str),
    NotBase64url(&'static str),
    /// `use` other than `sig`.
    Use(String),
    /// `key_ops` without `verify`.
    KeyOps,
    /// `alg` none of the algorithms a client may sign with.
    Alg(String),
    /// A P-256 coordinate or an Ed25519 key of the wrong length.
    PointLength {
        crv: &'static str,
        bytes: usize,
    },
    /// An RSA modulus of this many bits, outside 2048 to 8192.
    RsaBits(usize),
    /// An RSA exponent that is not odd or is below 3.
    RsaExponent,
    /// `crv` other than P-256 for EC or Ed25519 for OKP.
    Curve(String),
    /// `kty` other than EC, OKP or RSA.
    KeyType(String),
    /// `alg` for another type of key.
    AlgDoesNotFit {
        alg: JwsAlg,
        kty: String,
    },
    /// A JWK Set without keys.
    NoKeys,
    /// The key at this position (from 1) of a set is not a JSON object.
    NotAnObject(usize),
    /// The key at this position (from 1) of a set is refused.
    Key(usize, Box<JwkRefused>),
    /// Two keys of a set have this `kid`.
    DuplicateKid(String),
}

impl fmt::Display for JwkRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwkRefused::PrivateMember(member) => write!(
                f,
                "has the private member {member:?}: register the public key only"
            ),
            JwkRefused::NotAString(name) => write!(f, "{name:?} is not a string"),
            JwkRefused::Missing(name) => write!(f, "has no {name:?}"),
            JwkRefused::NotBase64url(name) => {
                write!(f, "{name:?} is not base64url without padding")
            }
            JwkRefused::Use(usage) => write!(f, "\"use\" is {usage:?}, not \"sig\""),
            JwkRefused::KeyOps => f.write_str("\"key_ops\" does not include \"verify\""),
            JwkRefused::Alg(name) => write!(
                f,
                "\"alg\" {name:?} is not one of ES256, EdDSA, PS256, RS256"
            ),
            JwkRefused::PointLength { crv, bytes } => write!(
                f,
                "a {crv} coordinate of {bytes} bytes; \"x\" (and \"y\" for P-256) are 32 bytes each"
            ),
            JwkRefused::RsaBits(bits) => {
                write!(f, "an RSA key of {bits} bits; 2048 to 8192 are accepted")
            }
            JwkRefused::RsaExponent => {
                f.write_str("the RSA exponent \"e\" is not an odd number from 3")
            }
            JwkRefused::Curve(crv) => write!(
                f,
                "curve {crv:?} is not supported (P-256 for EC, Ed25519 for OKP)"
            ),
            JwkRefused::KeyType(kty) => {
                write!(f, "key type {kty:?} is not supported (EC, OKP or RSA)")
            }
            JwkRefused::AlgDoesNotFit { alg, kty } => {
                write!(f, "\"alg\" {} does not fit key type {kty}", alg.as_str())
            }
            JwkRefused::NoKeys => f.write_str("has no keys"),
            JwkRefused::NotAnObject(n) => write!(f, "key {n} is not an object"),
            JwkRefused::Key(n, why) => write!(f, "key {n} {why}"),
            JwkRefused::DuplicateKid(kid) => write!(f, "two keys have the kid {kid:?}"),
        }
    }
}

/// One public key of a client.
pub struct PublicJwk {
    kid: Option<String>,
    /// The `alg` member, if the key names the one algorithm it is for (RFC 7517 §4.4).
    alg: Option<JwsAlg>,
    material: Material,
}

impl PublicJwk {
    /// Reads a JWK: `kty` `EC` (`crv` `P-256`), `OKP` (`crv` `Ed25519`) or `RSA` (2048 to 8192
    /// bits), `use` `sig` if present, `key_ops` with `verify` if present, no private member.
    /// Members it does not know are ignored (RFC 7517 §4). The error says what is wrong.
    pub fn parse(jwk: &Map<String, Value>) -> Result<Self, JwkRefused> {
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| jwk.contains_key(**m)) {
            return Err(JwkRefused::PrivateMember(member));
        }
        let text = |name: &'static str| -> Result<Option<&str>, JwkRefused> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(JwkRefused::NotAString(name)),
            }
        };
        let bytes = |name: &'static str| -> Result<Vec<u8>, JwkRefused> {
            let value = text(name)?.ok_or(JwkRefused::Missing(name))?;
            B64.decode(value)
                .map_err(|_| JwkRefused::NotBase64url(name))
        };
        if let Some(usage) = text("use")?
            && usage != "sig"
        {
            return Err(JwkRefused::Use(usage.to_owned()));
        }
        if let Some(ops) = jwk.get("key_ops")
            && !ops
                .as_array()
                .is_some_and(|ops| ops.iter().any(|op| op == "verify"))
        {
            return Err(JwkRefused::KeyOps);
        }
        let alg = match text("alg")? {
            None => None,
            Some(name) => {
                Some(JwsAlg::named(name).ok_or_else(|| JwkRefused::Alg(name.to_owned()))?)
            }
        };
        let kty = text("kty")?.ok_or(JwkRefused::Missing("kty"))?;
        let crv = text("crv")?;
        let material = match (kty, crv) {
            ("EC", Some("P-256")) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if let Some(wrong) = [&x, &y].into_iter().find(|c| c.len() != 32) {
                    return Err(JwkRefused::PointLength {
                        crv: "P-256",
                        bytes: wrong.len(),
                    });
                }
                Material::P256([&[4][..], &x, &y].concat())
            }
            ("OKP", Some("Ed25519")) => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err(JwkRefused::PointLength {
                        crv: "Ed25519",
                        bytes: x.len(),
                    });
                }
                Material::Ed25519(x)
            }
            ("RSA", _) => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                let bits = significant_bits(&n);
                if !(2048..=8192).contains(&bits) {
                    return Err(JwkRefused::RsaBits(bits));
                }
                if e.len() > 4 || significant_bits(&e) < 2 || e.last().is_none_or(|b| b % 2 == 0) {
                    return Err(JwkRefused::RsaExponent);
                }
                Material::Rsa { n, e }
            }
            ("EC" | "OKP", crv) => {
                return Err(JwkRefused::Curve(crv.unwrap_or_default().to_owned()));
            }
            (kty, _) => {
                return Err(JwkRefused::KeyType(kty.to_owned()));
            }
        };
        if let Some(alg) = alg
            && !material.signs(alg)
        {
            return Err(JwkRefused::AlgDoesNotFit {
                alg,
                kty: kty.to_owned(),
            });
        }
        Ok(PublicJwk {
            kid: text("kid")?.map(str::to_owned),
            alg,
            material,
        })
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether the key may check a signature by `alg`: its type fits, and its `alg` member,
    /// if any, is that one.
    fn fits(&self, alg: JwsAlg) -> bool {
        self.material.signs(alg) && self.alg.is_none_or(|own| own == alg)
    }

    /// Whether `signature` by `alg` over `message` is this key's.
    fn verifies(&self, alg: JwsAlg, message: &[u8], signature: &[u8]) -> bool {
        if !self.fits(alg) {
            return false;
        }
        let checked = match (&self.material, alg) {
            (Material::P256(point), _) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
            }
            (Material::Ed25519(x), _) => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature)
            }
            (Material::Rsa { n, e }, JwsAlg::PS256) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PSS_2048_8192_SHA256,
                message,
                signature,
            ),
            (Material::Rsa { n, e }, _) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
        };
        checked.is_ok()
    }

    fn kty(&self) -> &'static str {
        match self.material {
            Material::P256(_) => "EC",
            Material::Ed25519(_) => "OKP",
            Material::Rsa { .. } => "RSA",
        }
    }
}

fn significant_bits(big_endian: &[u8]) -> usize {
    let mut digits = big_endian.iter().skip_while(|b| **b == 0);
    match digits.next() {
        None => 0,
        Some(first) => (8 - first.leading_zeros() as usize) + 8 * digits.count(),
    }
}

/// Why a signature was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureRefused {
    /// The header's `kid` names none of the keys, or a key not for this algorithm.
    UnknownKid,
    /// No `kid`, and no key is for this algorithm.
    NoKeyForAlg,
    /// A key was tried and the signature is not by it.
    BadSignature,
}

/// A client's public keys (a JWK Set, RFC 7517 §5): at least one, no two with one `kid`.
pub struct PublicKeys(Vec<PublicJwk>);

impl PublicKeys {
    /// Reads the `keys` of a JWK Set; the error names the key by its position (from 1).
    pub fn parse(keys: &[Value]) -> Result<Self, JwkRefused> {
        if keys.is_empty() {
            return Err(JwkRefused::NoKeys);
        }
        let mut parsed: Vec<PublicJwk> = Vec::with_capacity(keys.len());
        for (n, key) in keys.iter().enumerate() {
            let object = key.as_object().ok_or(JwkRefused::NotAnObject(n + 1))?;
            let key =
                PublicJwk::parse(object).map_err(|why| JwkRefused::Key(n + 1, Box::new(why)))?;
            if let Some(kid) = key.kid()
                && parsed.iter().any(|k| k.kid() == Some(kid))
            {
                return Err(JwkRefused::DuplicateKid(kid.to_owned()));
            }
            parsed.push(key);
        }
        Ok(PublicKeys(parsed))
    }

    /// Checks a JWS signature (RFC 7515 §5.2): by the key `kid` names when the header names
    /// one, else by any key for `alg` (RFC 7515 §4.1.4 leaves the choice to the recipient).
    pub fn verify(
        &self,
        alg: JwsAlg,
        kid: Option<&str>,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureRefused> {
        let verifies = |key: &PublicJwk| key.verifies(alg, message, signature);
        let Some(kid) = kid else {
            let mut tried = false;
            for key in self.0.iter().filter(|k| k.fits(alg)) {
                if verifies(key) {
                    return Ok(());
                }
                tried = true;
            }
            return Err(match tried {
                true => SignatureRefused::BadSignature,
                false => SignatureRefused::NoKeyForAlg,
            });
        };
        let key = self
            .0
            .iter()
            .find(|k| k.kid() == Some(kid) && k.fits(alg))
            .ok_or(SignatureRefused::UnknownKid)?;
        match verifies(key) {
            true => Ok(()),
            false => Err(SignatureRefused::BadSignature),
        }
    }
}

/// A set of one key, as a DPoP proof carries it.
impl From<PublicJwk> for PublicKeys {
    fn from(key: PublicJwk) -> Self {
        PublicKeys(vec![key])
    }
}

impl fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|k| format!("{} {}", k.kty(), k.kid().unwrap_or("(no kid)"))),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    use serde_json::json;

    use super::*;

    fn es256() -> (EcdsaKeyPair, Value) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]),
            "y": B64.encode(&point[33..65]), "kid": "ec"});
        (pair, jwk)
    }

    fn ed25519() -> (Ed25519KeyPair, Value) {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(pair.public_key())});
        (pair, jwk)
    }

    /// Whether a JWK is taken.
    fn accepted(jwk: &Value) -> bool {
        PublicJwk::parse(jwk.as_object().unwrap()).is_ok()
    }

    /// The text of what a JWK is refused for, as a start-up error shows it.
    fn refusal(jwk: Value) -> String {
        match PublicJwk::parse(jwk.as_object().unwrap()) {
            Ok(_) => panic!("taken: {jwk}"),
            Err(why) => why.to_string(),
        }
    }

    #[test]
    fn a_private_member_is_refused_by_name() {
        let (_, mut jwk) = es256();
        jwk["d"] = json!("AAAA");
        let error = refusal(jwk);
        assert!(error.contains("private member \"d\""), "{error}");
        let error = refusal(json!({"kty": "oct", "k": "AAAA"}));
        assert!(error.contains("\"k\""), "{error}");
    }

    #[test]
    fn unsupported_key_types_curves_and_algorithms_are_refused() {
        let (_, jwk) = es256();
        for (member, value, says) in [
            ("kty", json!("oct"), "key type \"oct\""),
            ("crv", json!("P-384"), "curve \"P-384\""),
            ("alg", json!("ES384"), "\"ES384\""),
            ("alg", json!("HS256"), "\"HS256\""),
            ("alg", json!("none"), "\"none\""),
            ("alg", json!("RS256"), "does not fit"),
            ("use", json!("enc"), "\"enc\""),
            ("key_ops", json!(["encrypt"]), "verify"),
        ] {
            let mut jwk = jwk.clone();
            jwk[member] = value;
            let error = refusal(jwk);
            assert!(error.contains(says), "{member}: {error}");
        }
    }

    #[test]
    fn an_rsa_key_below_2048_bits_is_refused() {
        let n = B64.encode([0xff; 255]);
        let error = refusal(json!({"kty": "RSA", "n": n, "e": "AQAB"}));
        assert!(error.contains("2040 bits"), "{error}");
        let n = B64.encode([0xff; 256]);
        assert!(accepted(&json!({"kty": "RSA", "n": n, "e": "AQAB"})));
        let error = refusal(json!({"kty": "RSA", "n": n, "e": "AQ"}));
        assert!(error.contains("exponent"), "{error}");
    }

    #[test]
    fn a_p256_point_of_the_wrong_length_is_refused() {
        let (_, mut jwk) = es256();
        jwk["x"] = json!(B64.encode([1; 31]));
        assert!(refusal(jwk).contains("32 bytes"));
    }

    #[test]
    fn a_signature_verifies_by_kid_or_by_algorithm() {
        let rng = SystemRandom::new();
        let (ec, ec_jwk) = es256();
        let (ed, ed_jwk) = ed25519();
        let keys = PublicKeys::parse(&[ec_jwk, ed_jwk]).unwrap();
        let message = b"header.payload";
        let ec_sig = ec.sign(&rng, message).unwrap();
        let ed_sig = ed.sign(message);
        let check = |alg, kid, sig: &[u8]| keys.verify(alg, kid, message, sig);
        assert_eq!(check(JwsAlg::ES256, Some("ec"), ec_sig.as_ref()), Ok(()));
        assert_eq!(check(JwsAlg::ES256, None, ec_sig.as_ref()), Ok(()));
        assert_eq!(check(JwsAlg::EdDSA, None, ed_sig.as_ref()), Ok(()));
        assert_eq!(
            check(JwsAlg::ES256, Some("other"), ec_sig.as_ref()),
            Err(SignatureRefused::UnknownKid)
        );
        assert_eq!(
            check(JwsAlg::EdDSA, Some("ec"), ed_sig.as_ref()),
            Err(SignatureRefused::UnknownKid),
            "a kid names a key for its own algorithm only"
        );
        assert_eq!(
            check(JwsAlg::RS256, None, ec_sig.as_ref()),
            Err(SignatureRefused::NoKeyForAlg)
        );
        assert_eq!(
            check(JwsAlg::ES256, None, ed_sig.as_ref()),
            Err(SignatureRefused::BadSignature)
        );
        assert_eq!(
            keys.verify(JwsAlg::ES256, None, b"other", ec_sig.as_ref()),
            Err(SignatureRefused::BadSignature)
        );
    }

    #[test]
    fn a_key_s_alg_member_restricts_it_to_that_algorithm() {
        let n = B64.encode([0xff; 256]);
        let keys = PublicKeys::parse(&[json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "PS256"})])
            .unwrap();
        assert_eq!(
            keys.verify(JwsAlg::RS256, None, b"m", b"s"),
            Err(SignatureRefused::NoKeyForAlg)
        );
        assert_eq!(
            keys.verify(JwsAlg::PS256, None, b"m", b"s"),
            Err(SignatureRefused::BadSignature)
        );
    }

    #[test]
    fn a_set_is_not_empty_and_its_kids_are_unique() {
        assert_eq!(PublicKeys::parse(&[]).err(), Some(JwkRefused::NoKeys));
        let (_, jwk) = es256();
        let error = PublicKeys::parse(&[jwk.clone(), jwk]).err().unwrap();
        assert_eq!(error, JwkRefused::DuplicateKid("ec".into()));
        let error = PublicKeys::parse(&[json!("x")]).err().unwrap();
        assert_eq!(error.to_string(), "key 1 is not an object");
    }
}
