//! Signing keys: PKCS#8 PEM files parsed once at start-up, `kid` by RFC 7638 thumbprint,
//! the signer choice, JWT signing with the parsed key pair, and the JWKS document.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde::Serialize;
use serde_json::json;

use crate::startup_error::StartupError;

/// Why a key could not be loaded, made or used.
#[derive(Debug)]
pub enum KeyError {
    /// The file is no PKCS#8 private key of a supported algorithm: what is wrong with it.
    Unreadable(String),
    /// There is no key, or `TS_SIGNING_KEY` names none of them.
    NoSigner(String),
    /// ring's random generator or key pair failed; it says no more than what failed.
    Crypto(&'static str),
    /// A header, claims or the JWKS could not be written as JSON.
    Json(serde_json::Error),
    /// This algorithm's keys are made elsewhere: how.
    NotGenerated(&'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Unreadable(why) | KeyError::NoSigner(why) => f.write_str(why),
            KeyError::Crypto(what) | KeyError::NotGenerated(what) => f.write_str(what),
            KeyError::Json(error) => write!(f, "JSON: {error}"),
        }
    }
}

impl std::error::Error for KeyError {}

impl From<serde_json::Error> for KeyError {
    fn from(error: serde_json::Error) -> Self {
        KeyError::Json(error)
    }
}

/// The algorithms a key can sign with; read from the key itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    ES256,
    EdDSA,
    RS256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "ES256" => Some(Algorithm::ES256),
            "EDDSA" | "ED25519" => Some(Algorithm::EdDSA),
            "RS256" => Some(Algorithm::RS256),
            _ => None,
        }
    }
}

enum KeyPairKind {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(RsaKeyPair),
}

/// One key from `TS_KEYS_DIR`, parsed once.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub path: PathBuf,
    pair: KeyPairKind,
    /// The public JWK (RFC 7517) with `kid`, `alg` and `use`.
    jwk: serde_json::Value,
    /// The public key as jsonwebtoken verifies with it (introspection, RFC 7662).
    decoding: jsonwebtoken::DecodingKey,
    /// base64url of the JWT header `{"alg","kid","typ":"at+jwt"}`, computed once.
    header_b64: String,
    /// The same with `"typ":"JWT"`, for OpenID Connect ID tokens.
    id_header_b64: String,
    /// The refresh-token keys derived from this key (`refresh_token`).
    refresh: RefreshSecrets,
    /// Seals what a page carries through its form and must get back unchanged (the login
    /// page's copy of a pushed request), derived like the refresh-token keys, so every replica
    /// opens what another sealed.
    form_seal: ring::hmac::Key,
    /// The key of DPoP server nonces derived from this key (`dpop::nonce`).
    dpop_nonce: ring::hmac::Key,
}

/// Two HMAC-SHA256 keys derived from a signing key's private key by HKDF (RFC 5869), so that
/// refresh tokens need no secret of their own: one authenticates tokens, one derives a
/// token's successor. Every replica holding the key derives the same two.
#[derive(Clone)]
pub struct RefreshSecrets {
    /// Names the key in the tokens it authenticates: the first bytes of SHA-256 of the `kid`.
    pub id: [u8; 4],
    pub mac: ring::hmac::Key,
    pub successor: ring::hmac::Key,
}

impl RefreshSecrets {
    fn derive(kid: &str, private_key_der: &[u8]) -> Result<Self, KeyError> {
        const SALT: &[u8] = b"token-service refresh tokens v1";
        let digest = ring::digest::digest(&ring::digest::SHA256, kid.as_bytes());
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest.as_ref()[..4]);
        Ok(RefreshSecrets {
            id,
            mac: derive_hmac(SALT, private_key_der, b"mac")?,
            successor: derive_hmac(SALT, private_key_der, b"successor")?,
        })
    }
}

/// An HMAC-SHA256 key derived from a private key by HKDF-SHA256 (RFC 5869): `salt` names the
/// purpose, `info` the key's use within it.
fn derive_hmac(
    salt: &'static [u8],
    private_key_der: &[u8],
    info: &'static [u8],
) -> Result<ring::hmac::Key, KeyError> {
    use ring::{hkdf, hmac};
    let info = [info];
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(private_key_der);
    let okm = prk
        .expand(&info, hmac::HMAC_SHA256)
        .map_err(|_| KeyError::Crypto("HMAC key derivation failed"))?;
    Ok(hmac::Key::from(okm))
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a PKCS#8 PEM private key; the algorithm is whichever parser accepts it.
    pub fn from_pem(path: &Path, pem_text: &[u8]) -> Result<Self, KeyError> {
        let pem = pem::parse(pem_text)
            .map_err(|e| KeyError::Unreadable(format!("not a PEM file: {e}")))?;
        if pem.tag() != "PRIVATE KEY" {
            return Err(KeyError::Unreadable(format!(
                "expected a PKCS#8 \"PRIVATE KEY\" PEM block, found \"{}\" (convert with `openssl pkcs8 -topk8 -nocrypt`)",
                pem.tag()
            )));
        }
        let der = pem.contents();
        let rng = SystemRandom::new();
        let (pair, alg, public) = if let Ok(k) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
        {
            let point = k.public_key().as_ref();
            let (x, y) = point
                .get(1..33)
                .zip(point.get(33..65))
                .ok_or_else(|| KeyError::Unreadable("bad P-256 point".into()))?;
            let jwk = json!({"crv": "P-256", "kty": "EC", "x": B64.encode(x), "y": B64.encode(y)});
            (KeyPairKind::Es256(k), Algorithm::ES256, jwk)
        } else if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            let jwk =
                json!({"crv": "Ed25519", "kty": "OKP", "x": B64.encode(k.public_key().as_ref())});
            (KeyPairKind::EdDsa(k), Algorithm::EdDSA, jwk)
        } else {
            match RsaKeyPair::from_pkcs8(der) {
                Ok(k) => {
                    if k.public().modulus_len() < 256 {
                        return Err(KeyError::Unreadable(
                            "RSA keys must be at least 2048 bits".into(),
                        ));
                    }
                    let c = signature::RsaPublicKeyComponents::<Vec<u8>>::from(k.public());
                    let jwk = json!({"e": B64.encode(&c.e), "kty": "RSA", "n": B64.encode(&c.n)});
                    (KeyPairKind::Rs256(k), Algorithm::RS256, jwk)
                }
                Err(e) => {
                    return Err(KeyError::Unreadable(format!(
                        "not an ES256 (P-256), EdDSA (Ed25519) or RS256 (RSA >= 2048) PKCS#8 key: {e}"
                    )));
                }
            }
        };
        // RFC 7638 §3: the thumbprint input is the required members in lexicographic order,
        // which is how serde_json (without preserve_order) writes an object.
        let decoding = match &pair {
            KeyPairKind::Es256(_) => jsonwebtoken::DecodingKey::from_ec_components(
                str_of(&public, "x"),
                str_of(&public, "y"),
            ),
            KeyPairKind::EdDsa(_) => {
                jsonwebtoken::DecodingKey::from_ed_components(str_of(&public, "x"))
            }
            KeyPairKind::Rs256(_) => jsonwebtoken::DecodingKey::from_rsa_components(
                str_of(&public, "n"),
                str_of(&public, "e"),
            ),
        }
        .map_err(|e| KeyError::Unreadable(format!("public key: {e}")))?;
        let canonical = serde_json::to_vec(&public)?;
        let kid = B64.encode(ring::digest::digest(&ring::digest::SHA256, &canonical));
        let mut jwk = public;
        if let Some(obj) = jwk.as_object_mut() {
            obj.insert("kid".into(), kid.clone().into());
            obj.insert("alg".into(), alg.as_str().into());
            obj.insert("use".into(), "sig".into());
        }
        let header = json!({"alg": alg.as_str(), "kid": kid, "typ": "at+jwt"});
        let header_b64 = B64.encode(serde_json::to_vec(&header)?);
        let id_header = json!({"alg": alg.as_str(), "kid": kid, "typ": "JWT"});
        let id_header_b64 = B64.encode(serde_json::to_vec(&id_header)?);
        Ok(SigningKey {
            alg,
            path: path.to_owned(),
            pair,
            decoding,
            jwk,
            header_b64,
            id_header_b64,
            refresh: RefreshSecrets::derive(&kid, der)?,
            form_seal: derive_hmac(b"token-service form seals v1", der, b"mac")?,
            // RFC 9449 §8 nonces: every replica holding the key makes and accepts the same.
            dpop_nonce: derive_hmac(b"token-service dpop nonces v1", der, b"nonce")?,
            kid,
        })
    }

    /// The public JWK (RFC 7517) with `kid`, `alg` and `use`.
    pub fn public_jwk(&self) -> &serde_json::Value {
        &self.jwk
    }

    /// Signs `claims` as a JWT typed `JWT` with this key, as a client signs its assertions
    /// (`client-assertion`).
    pub fn sign_jwt<T: Serialize>(
        &self,
        rng: &SystemRandom,
        claims: &T,
    ) -> Result<String, KeyError> {
        self.sign_with(&self.id_header_b64, rng, |out| {
            crate::json::write(out, claims)
        })
    }

    /// The refresh-token keys derived from this key.
    pub fn refresh_secrets(&self) -> &RefreshSecrets {
        &self.refresh
    }

    /// The key that seals form contents (`authorize`'s pushed-request seal).
    pub fn form_seal(&self) -> &ring::hmac::Key {
        &self.form_seal
    }

    /// The DPoP nonce key derived from this key.
    pub fn dpop_nonce_key(&self) -> &ring::hmac::Key {
        &self.dpop_nonce
    }

    /// Whether this is the committed development key (its file name says `dev`).
    pub fn is_dev_key(&self) -> bool {
        self.path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|s| {
                s.split(['-', '_', '.'])
                    .any(|w| w.eq_ignore_ascii_case("dev"))
            })
    }

    /// When this key was made, in seconds since the Unix epoch: the UTC date (and time) its
    /// file name starts with, as `keygen` names keys (`2026-11-30T120000Z-es256.pem`; a bare
    /// `2026-11-30-…` is that day's midnight), else the file's modification time, else `None`
    /// (README, "Keys and secrets"; docs/runbook.md, "Signing key old").
    pub fn created_at(&self) -> Option<u64> {
        let stem = self.path.file_stem().and_then(|s| s.to_str());
        stem.and_then(date_prefix).or_else(|| {
            let modified = std::fs::metadata(&self.path).ok()?.modified().ok()?;
            let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
            Some(since.as_secs())
        })
    }

    /// Signs `claims` as a compact JWS with this key, typed as an access token.
    pub fn sign<T: Serialize>(&self, rng: &SystemRandom, claims: &T) -> Result<String, KeyError> {
        self.sign_with(&self.header_b64, rng, |out| crate::json::write(out, claims))
    }

    /// Signs the claims `write` puts into the payload as a compact JWS with `header_b64`.
    fn sign_with(
        &self,
        header_b64: &str,
        rng: &SystemRandom,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
    ) -> Result<String, KeyError> {
        let mut payload = Vec::with_capacity(CLAIMS_CAPACITY);
        write(&mut payload)?;
        // The token is written, signed and finished in one buffer sized for it.
        let signature_len = match &self.pair {
            KeyPairKind::Es256(_) | KeyPairKind::EdDsa(_) => 64,
            KeyPairKind::Rs256(k) => k.public().modulus_len(),
        };
        let mut jwt = Vec::with_capacity(
            header_b64.len() + 2 + b64_len(payload.len()) + b64_len(signature_len),
        );
        jwt.extend_from_slice(header_b64.as_bytes());
        jwt.push(b'.');
        push_b64(&mut jwt, &payload);
        jwt.push(b'.');
        let signing_input = jwt.get(..jwt.len() - 1).unwrap_or_default();
        match &self.pair {
            KeyPairKind::Es256(k) => {
                let signature = k
                    .sign(rng, signing_input)
                    .map_err(|_| KeyError::Crypto("ES256 signing failed"))?;
                push_b64(&mut jwt, signature.as_ref());
            }
            KeyPairKind::EdDsa(k) => {
                let signature = k.sign(signing_input);
                push_b64(&mut jwt, signature.as_ref());
            }
            KeyPairKind::Rs256(k) => {
                let mut signature = vec![0; signature_len];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    rng,
                    signing_input,
                    &mut signature,
                )
                .map_err(|_| KeyError::Crypto("RS256 signing failed"))?;
                push_b64(&mut jwt, &signature);
            }
        }
        String::from_utf8(jwt).map_err(|_| KeyError::Crypto("the token is not text"))
    }
}

/// Room for an access token's claims without growing: a user's extra claims may need more.
const CLAIMS_CAPACITY: usize = 512;

/// The length of base64url without padding of `len` bytes.
fn b64_len(len: usize) -> usize {
    len / 3 * 4 + [0, 2, 3][len % 3]
}

/// Appends base64url without padding of `bytes` to `out`.
fn push_b64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + b64_len(bytes.len()), 0);
    let written = B64
        .encode_slice(bytes, out.get_mut(start..).unwrap_or_default())
        .unwrap_or(0);
    out.truncate(start + written);
}

/// Every key in `TS_KEYS_DIR` (all published), and the one that signs.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<SigningKey>,
    signer: usize,
    rng: SystemRandom,
    jwks: String,
    etag: String,
}

impl KeySet {
    /// Loads every `*.pem` in `dir`. The signer is `signing_key` (a kid or file stem) or the
    /// last file by name (README, "Keys and secrets": name keys by date so the newest sorts last).
    pub fn load(dir: &Path, signing_key: Option<&str>) -> Result<Self, StartupError> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            StartupError(format!(
                "{}: cannot read keys directory (TS_KEYS_DIR): {e}",
                dir.display()
            ))
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pem"))
            .collect();
        paths.sort();
        let mut keys = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read(&path)
                .map_err(|e| StartupError(format!("{}: cannot read key: {e}", path.display())))?;
            let key = SigningKey::from_pem(&path, &text)
                .map_err(|e| StartupError(format!("{}: {e}", path.display())))?;
            if let Some(other) = keys.iter().find(|k: &&SigningKey| k.kid == key.kid) {
                return Err(StartupError(format!(
                    "{}: same key as {}",
                    path.display(),
                    other.path.display()
                )));
            }
            keys.push(key);
        }
        Self::from_keys(keys, signing_key)
            .map_err(|e| StartupError(format!("{}: {e}", dir.display())))
    }

    pub fn from_keys(keys: Vec<SigningKey>, signing_key: Option<&str>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoSigner(
                "no *.pem keys (TS_KEYS_DIR); create one with `token-service keygen`".into(),
            ));
        }
        let signer = match signing_key {
            None => keys.len() - 1,
            Some(name) => keys
                .iter()
                .position(|k| {
                    k.kid == name || k.path.file_stem().is_some_and(|s| s.to_str() == Some(name))
                })
                .ok_or_else(|| {
                    KeyError::NoSigner(format!(
                        "TS_SIGNING_KEY={name:?} names no key in this directory"
                    ))
                })?,
        };
        let jwks = serde_json::to_string(&json!({
            "keys": keys.iter().map(|k| &k.jwk).collect::<Vec<_>>()
        }))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, jwks.as_bytes());
        let etag = format!("\"{}\"", B64.encode(&digest.as_ref()[..16]));
        Ok(KeySet {
            keys,
            signer,
            rng: SystemRandom::new(),
            jwks,
            etag,
        })
    }

    pub fn signer(&self) -> &SigningKey {
        &self.keys[self.signer]
    }

    /// Every key, the signer among them.
    pub fn all(&self) -> &[SigningKey] {
        &self.keys
    }

    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Each algorithm of the published keys once, in the order of the keys' file names.
    pub fn algorithms(&self) -> Vec<&'static str> {
        let mut algs = Vec::new();
        for alg in self.keys.iter().map(|k| k.alg.as_str()) {
            if !algs.contains(&alg) {
                algs.push(alg);
            }
        }
        algs
    }

    /// Signs `claims` with the signing key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        self.signer().sign(&self.rng, claims)
    }

    /// Signs, as [`KeySet::sign`] does, the claims `write` puts into the payload as JSON: for
    /// claims written member by member rather than through `Serialize`.
    pub fn sign_written(
        &self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
    ) -> Result<String, KeyError> {
        let signer = self.signer();
        signer.sign_with(&signer.header_b64, &self.rng, write)
    }

    /// Signs an OpenID Connect ID token's `claims` with the signing key, `typ` `JWT`.
    pub fn sign_id_token<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let signer = self.signer();
        signer.sign_with(&signer.id_header_b64, &self.rng, |out| {
            crate::json::write(out, claims)
        })
    }

    /// Verifies an access token's signature with the published key its `kid` names, as a
    /// resource server would, and returns its claims. `exp`, `nbf` and `aud` are left to the
    /// caller, who knows the time (the clock is a parameter, not jsonwebtoken's).
    ///
    /// The protected header is read here before jsonwebtoken sees the token, because
    /// jsonwebtoken ignores members it does not know: a `crit` member names extensions the
    /// recipient must understand or reject the token (RFC 7515 §4.1.11), and we understand
    /// none. `typ` must say access token (RFC 9068 §4). The algorithm is the key's, never the
    /// header's.
    pub fn verify<T: serde::de::DeserializeOwned>(&self, jwt: &str) -> Option<T> {
        self.verify_typed(jwt, is_access_token_type)
    }

    /// Verifies an ID token this service issued (`typ` `JWT`), as [`KeySet::verify`] does
    /// access tokens; times and audience are left to the caller (an `id_token_hint` may have
    /// expired, OpenID Connect RP-Initiated Logout §2).
    pub fn verify_id_token<T: serde::de::DeserializeOwned>(&self, jwt: &str) -> Option<T> {
        self.verify_typed(jwt, |typ| typ.eq_ignore_ascii_case("JWT"))
    }

    fn verify_typed<T: serde::de::DeserializeOwned>(
        &self,
        jwt: &str,
        typ_ok: impl Fn(&str) -> bool,
    ) -> Option<T> {
        let header = protected_header(jwt)?;
        if header.contains_key("crit") {
            return None;
        }
        if !typ_ok(header.get("typ")?.as_str()?) {
            return None;
        }
        let key = self.by_kid(header.get("kid")?.as_str()?)?;
        let alg = match key.alg {
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        };
        let mut validation = jsonwebtoken::Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode(jwt, &key.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }

    /// The JWKS document, serialized once.
    pub fn jwks(&self) -> &str {
        &self.jwks
    }

    /// A strong ETag of the JWKS document.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    pub fn rng(&self) -> &SystemRandom {
        &self.rng
    }
}

fn str_of<'a>(jwk: &'a serde_json::Value, member: &str) -> &'a str {
    jwk.get(member).and_then(|v| v.as_str()).unwrap_or_default()
}

/// The protected header of a JWS in compact serialization: exactly three segments, the first
/// base64url of a JSON object (RFC 7515 §3.1, §4). The segment is the one jsonwebtoken reads.
fn protected_header(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut segments = jwt.split('.');
    let header = segments.next()?;
    if segments.count() != 2 {
        return None;
    }
    serde_json::from_slice(&B64.decode(header).ok()?).ok()
}

/// RFC 9068 §4: `typ` is `at+jwt` or `application/at+jwt`. It is a media type, compared
/// case-insensitively, whose `application/` prefix may be left out (RFC 7515 §4.1.9).
fn is_access_token_type(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
}

/// An Ed25519 private key as `openssl genpkey -algorithm ed25519` writes it (RFC 8410 §7):
/// `OneAsymmetricKey` version 0 (PKCS#8 v1), algorithm id-Ed25519 (1.3.101.112), and the
/// privateKey OCTET STRING wrapping the CurvePrivateKey OCTET STRING of the 32-byte seed.
/// These are the 16 bytes before the seed.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, // SEQUENCE, 46 bytes
    0x02, 0x01, 0x00, // INTEGER version 0 (v1)
    0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, // AlgorithmIdentifier { id-Ed25519 }
    0x04, 0x22, 0x04, 0x20, // OCTET STRING { OCTET STRING, 32 bytes: the seed }
];

/// The PKCS#8 v1 document of the Ed25519 key with this seed.
fn ed25519_pkcs8_v1(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = Vec::with_capacity(ED25519_PKCS8_V1_PREFIX.len() + seed.len());
    der.extend_from_slice(&ED25519_PKCS8_V1_PREFIX);
    der.extend_from_slice(seed);
    der
}

/// Generates a new PKCS#8 key for `keygen`. RSA generation is not offered by `ring`.
///
/// Ed25519 keys are written as PKCS#8 v1 rather than ring's v2 (which adds the public key): OpenSSL
/// 3.0, Node's `crypto`, jose and Python `cryptography` refuse v2 Ed25519 keys, and README ("Keys
/// and secrets") promises they read what keygen writes. The loader reads both; the kid is the same.
pub fn generate_pkcs8(alg: Algorithm, rng: &SystemRandom) -> Result<Vec<u8>, KeyError> {
    match alg {
        Algorithm::ES256 => {
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, rng)
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| KeyError::Crypto("key generation failed"))
        }
        Algorithm::EdDSA => ring::rand::generate::<[u8; 32]>(rng)
            .map(|seed| ed25519_pkcs8_v1(&seed.expose()))
            .map_err(|_| KeyError::Crypto("key generation failed")),
        Algorithm::RS256 => Err(KeyError::NotGenerated(
            "RS256 keys cannot be generated here (ring signs RSA but does not generate keys); create one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out keys/$(date -u +%Y-%m-%dT%H%M%SZ)-rs256.pem` and it will be loaded like any other",
        )),
    }
}

/// The Unix time of a name's leading `YYYY-MM-DD`, with `THHMMSSZ` after it if present.
fn date_prefix(name: &str) -> Option<u64> {
    let digits = |range: std::ops::Range<usize>| -> Option<u64> {
        let part = name.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if name.get(4..5) != Some("-") || name.get(7..8) != Some("-") {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let seconds = match name.get(10..11) {
        None | Some("-" | "_" | ".") => 0,
        Some("T") if name.get(17..18) == Some("Z") => {
            let (h, m, s) = (digits(11..13)?, digits(13..15)?, digits(15..17)?);
            if h > 23 || m > 59 || s > 60 {
                return None;
            }
            h * 3_600 + m * 60 + s
        }
        Some(_) => return None,
    };
    // Days since 1970-01-01 from a civil date (H. Hinnant's algorithm), as src/cli.rs's
    // `utc_timestamp` does the other way.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + seconds)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use ring::rand::SystemRandom;
    use ring::signature::Ed25519KeyPair;

    use super::{Algorithm, SigningKey, generate_pkcs8};

    fn pem_of(der: &[u8]) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()))
    }

    #[test]
    fn an_ed25519_key_is_generated_as_the_48_byte_pkcs8_v1_document_openssl_writes() {
        let der = generate_pkcs8(Algorithm::EdDSA, &SystemRandom::new()).unwrap();
        assert_eq!(der.len(), 48);
        // SEQUENCE (46 bytes) { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
        // OCTET STRING (32 bytes) } }: `openssl genpkey -algorithm ed25519 -outform DER`.
        let prefix = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        assert_eq!(der[..16], prefix);
        let key = SigningKey::from_pem(Path::new("k.pem"), pem_of(&der).as_bytes()).unwrap();
        assert_eq!(key.alg, Algorithm::EdDSA);
    }

    #[test]
    fn an_ed25519_key_has_the_same_kid_as_pkcs8_v1_and_as_rings_v2() {
        let v2 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let v2 = v2.as_ref();
        // ring's v2: SEQUENCE (81 bytes) { INTEGER 1, SEQUENCE { OID }, OCTET STRING {
        // OCTET STRING { seed } }, [1] public key }; the seed sits where it does in v1.
        assert_eq!(
            v2[..16],
            [
                0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
        let seed: [u8; 32] = v2[16..48].try_into().unwrap();
        let v1 = super::ed25519_pkcs8_v1(&seed);
        let load = |der: &[u8]| {
            SigningKey::from_pem(Path::new("k.pem"), pem_of(der).as_bytes())
                .unwrap()
                .kid
        };
        assert_eq!(load(&v1), load(v2));
    }

    #[test]
    fn a_key_name_s_leading_date_is_its_creation_time() {
        use super::date_prefix;
        assert_eq!(date_prefix("1970-01-01T000000Z-es256"), Some(0));
        assert_eq!(date_prefix("2026-11-27T214503Z-es256"), Some(1_795_815_903));
        assert_eq!(date_prefix("2024-02-29-rs256"), Some(1_709_164_800));
        assert_eq!(date_prefix("2026-03-01"), Some(1_772_323_200));
        for name in [
            "0000-dev-es256",
            "prod-es256",
            "2026-13-01-es256",
            "2026-1-01-x",
            "2026-11-27T2145Z-es256",
            "2026-11-27x",
        ] {
            assert_eq!(date_prefix(name), None, "{name}");
        }
    }
}
