//! The request parameters of `/token`, `/revoke` and `/introspect`, from a JSON object (as
//! the original API description sends them) or a form body (RFC 6749), with every malformed
//! body turned into an `invalid_request` instead of a framework rejection.

use std::collections::HashMap;
use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::error::OAuthError;

/// No single parameter needs more; a longer one is hostile or broken.
const MAX_VALUE_LEN: usize = 8 * 1024;

/// Parameters by name, each present at most once (RFC 6749 §3.2); an empty value reads as
/// absent (§3.1) but still counts as present for the repeat check.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
    }

    /// Deserializes the parameters into a typed request.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, OAuthError> {
        let pairs = self
            .0
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()));
        T::deserialize(de::value::MapDeserializer::<_, de::value::Error>::new(
            pairs,
        ))
        .map_err(|e| OAuthError::invalid_request(e.to_string()))
    }

    fn insert(&mut self, name: String, value: String) -> Result<(), String> {
        if name.len() > MAX_VALUE_LEN || value.len() > MAX_VALUE_LEN {
            return Err("parameter too long".into());
        }
        if self.0.contains_key(&name) {
            return Err(format!("parameter {name} is repeated"));
        }
        self.0.insert(name, value);
        Ok(())
    }

    /// Parses an `application/x-www-form-urlencoded` body strictly: UTF-8 after decoding,
    /// no repeated names (RFC 6749 §3.2).
    pub fn from_form(body: &[u8]) -> Result<Self, String> {
        let mut params = Params::default();
        let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8")?;
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = form_decode(name).ok_or("parameter name is not UTF-8")?;
            let value = form_decode(value).ok_or("parameter value is not UTF-8")?;
            params.insert(name, value)?;
        }
        Ok(params)
    }

    /// Parses a JSON object whose values are strings; repeated names are refused.
    pub fn from_json(body: &[u8]) -> Result<Self, String> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let params = deserializer
            .deserialize_map(ParamsVisitor)
            .map_err(|e| format!("malformed JSON body: {e}"))?;
        deserializer
            .end()
            .map_err(|e| format!("malformed JSON body: {e}"))?;
        Ok(params)
    }
}

/// Decodes one `application/x-www-form-urlencoded` component; `None` if not UTF-8.
pub fn form_decode(s: &str) -> Option<String> {
    let plus_as_space = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

struct ParamsVisitor;

impl<'de> Visitor<'de> for ParamsVisitor {
    type Value = Params;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of string parameters")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
        let mut params = Params::default();
        while let Some(name) = map.next_key::<String>()? {
            let value = match map.next_value::<serde_json::Value>()? {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => {
                    return Err(de::Error::custom(format!(
                        "parameter {name} must be a string"
                    )));
                }
            };
            params.insert(name, value).map_err(de::Error::custom)?;
        }
        Ok(params)
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                OAuthError::PayloadTooLarge
            } else {
                OAuthError::invalid_request("the request body could not be read")
            }
        })?;
        let parsed = match content_type.as_deref() {
            Some("application/x-www-form-urlencoded") => Params::from_form(&body),
            Some("application/json") => Params::from_json(&body),
            _ => Err(
                "Content-Type must be application/x-www-form-urlencoded or application/json".into(),
            ),
        };
        parsed.map_err(OAuthError::invalid_request)
    }
}
