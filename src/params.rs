//! Request parameters, one parser for every endpoint: a form body or query string
//! (`application/x-www-form-urlencoded`) or a JSON object of strings (as the original API
//! description sends them). One policy: non-UTF-8 is refused, a value over 8 KiB is refused,
//! and a repeated parameter is kept so the caller can report it by name (RFC 6749 §3.1).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};

/// No single parameter needs more; a longer one is hostile or broken.
pub const MAX_VALUE_LEN: usize = 8 * 1024;

/// The parameter names the service reads. Only these are ever named back in an error
/// description: anything else a client sent is request text, and is never echoed.
const KNOWN: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "username",
    "password",
    "scope",
    "refresh_token",
    "token",
    "token_type_hint",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "csrf_token",
    "request_uri",
];

/// Why a request's parameters could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamsError {
    NotUtf8,
    TooLong,
    /// Not a JSON object of strings.
    MalformedJson,
    /// A JSON value that is not a string (or number); named if the service knows the name.
    NotAString(Option<&'static str>),
    /// A parameter the request type needs is missing.
    Missing(&'static str),
    /// The parameters do not fit the request type in another way.
    Invalid,
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamsError::NotUtf8 => f.write_str("the parameters are not UTF-8"),
            ParamsError::TooLong => f.write_str("a parameter is too long"),
            ParamsError::MalformedJson => {
                f.write_str("the body is not a JSON object of string parameters")
            }
            ParamsError::NotAString(Some(name)) => write!(f, "{name} must be a string"),
            ParamsError::NotAString(None) => f.write_str("parameter values must be strings"),
            ParamsError::Missing(name) => write!(f, "missing parameter {name}"),
            ParamsError::Invalid => f.write_str("malformed parameters"),
        }
    }
}

/// The name to show for a parameter: its own if the service knows it, else none.
pub fn label(name: &str) -> Option<&'static str> {
    KNOWN.iter().find(|known| **known == name).copied()
}

/// Parameters by name, in [`name_order`]: the first value sent, and how many were (only a
/// lone value is ever read; a repeat is an error). A request has a handful, so a sorted list;
/// the names and values are pieces of one text, so a form's parameters take two allocations.
#[derive(Debug, Default)]
pub struct Params {
    text: String,
    list: Vec<Param>,
}

/// A parameter: where its name and its first value are in the text, and how often it was sent.
#[derive(Debug)]
struct Param {
    name: (usize, usize),
    first: (usize, usize),
    sent: usize,
}

impl Params {
    /// Parses a form body or a query string strictly: UTF-8 after decoding.
    pub fn from_form(input: &[u8]) -> Result<Self, ParamsError> {
        let text = std::str::from_utf8(input).map_err(|_| ParamsError::NotUtf8)?;
        // Decoding never lengthens a component: the decoded text fits the input's length.
        let mut decoded = Vec::with_capacity(input.len());
        let mut list = Vec::with_capacity(4);
        for pair in FormPairs::new(text) {
            let name = decode_component(&mut decoded, pair.name, pair.name_escaped)?;
            let value = decode_component(&mut decoded, pair.value, pair.value_escaped)?;
            insert(&mut list, &decoded, name, value)?;
        }
        let text = String::from_utf8(decoded).map_err(|_| ParamsError::NotUtf8)?;
        Ok(Params { text, list })
    }

    /// Parses a JSON object whose values are strings (numbers are read as their text, `null`
    /// as absent).
    pub fn from_json(body: &[u8]) -> Result<Self, ParamsError> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let params = deserializer
            .deserialize_map(ParamsVisitor)
            .map_err(|_| ParamsError::MalformedJson)?;
        deserializer.end().map_err(|_| ParamsError::MalformedJson)?;
        params
    }

    /// Parameters kept as name-value pairs (a pushed authorization request), under the same
    /// policy as parsed ones.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ParamsError> {
        let mut params = Params::default();
        for (name, value) in pairs {
            params.push(&name, &value)?;
        }
        Ok(params)
    }

    fn push(&mut self, name: &str, value: &str) -> Result<(), ParamsError> {
        let name = append(&mut self.text, name);
        let value = append(&mut self.text, value);
        insert(&mut self.list, self.text.as_bytes(), name, value)
    }

    fn piece(&self, (start, end): (usize, usize)) -> &str {
        self.text.get(start..end).unwrap_or_default()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.list
            .binary_search_by(|p| name_order(self.piece(p.name).as_bytes(), name.as_bytes()))
    }

    /// The first parameter sent more than once, as `label` names it.
    pub fn repeated(&self) -> Option<Repeated> {
        self.list
            .iter()
            .find(|p| p.sent > 1)
            .map(|p| Repeated(label(self.piece(p.name))))
    }

    /// The one value of `name`; an empty value counts as absent (RFC 6749 §3.1). `Err` if it
    /// was sent more than once.
    pub fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
        match self.find(name).map(|at| self.list.get(at)) {
            Err(_) | Ok(None) => Ok(None),
            Ok(Some(p)) if p.sent > 1 => Err(Repeated(label(name))),
            Ok(Some(p)) => Ok(Some(self.piece(p.first)).filter(|v| !v.is_empty())),
        }
    }

    /// The value of `name`, for callers that refused repeats up front (a repeat reads as
    /// absent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.one(name).ok().flatten()
    }

    /// The value of `name`, or an error naming it.
    pub fn required(&self, name: &str) -> Result<&str, ParamsError> {
        self.get(name)
            .ok_or(ParamsError::Missing(label(name).unwrap_or("parameter")))
    }

    /// Deserializes the (non-empty, single) values into a typed request.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ParamsError> {
        let pairs = self
            .list
            .iter()
            .filter(|p| p.sent == 1 && p.first.0 < p.first.1)
            .map(|p| (self.piece(p.name), self.piece(p.first)));
        T::deserialize(de::value::MapDeserializer::<_, de::value::Error>::new(
            pairs,
        ))
        .map_err(|e| {
            // serde names a missing field after the request type, never after request text.
            let message = e.to_string();
            match message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
            {
                Some(name) => ParamsError::Missing(label(name).unwrap_or("parameter")),
                None => ParamsError::Invalid,
            }
        })
    }
}

/// A parameter was sent more than once; the name is `label`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeated(pub Option<&'static str>);

impl fmt::Display for Repeated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, "parameter {name} is repeated"),
            None => f.write_str("a parameter is repeated"),
        }
    }
}

/// The order of the names in [`Params`]: shorter first, then by their bytes. Names looked up
/// are mostly of another length than those sent, and are told apart without comparing text.
fn name_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Where `piece` went in `text`, appended to it.
fn append(text: &mut String, piece: &str) -> (usize, usize) {
    let start = text.len();
    text.push_str(piece);
    (start, text.len())
}

/// Adds the parameter whose name and value are at `name` and `value` in `text` to `list`,
/// or counts it again; a name or value over `MAX_VALUE_LEN` is refused.
fn insert(
    list: &mut Vec<Param>,
    text: &[u8],
    name: (usize, usize),
    value: (usize, usize),
) -> Result<(), ParamsError> {
    if name.1 - name.0 > MAX_VALUE_LEN || value.1 - value.0 > MAX_VALUE_LEN {
        return Err(ParamsError::TooLong);
    }
    let piece = |(start, end): (usize, usize)| text.get(start..end).unwrap_or_default();
    match list.binary_search_by(|p| name_order(piece(p.name), piece(name))) {
        Ok(at) => {
            if let Some(p) = list.get_mut(at) {
                p.sent += 1;
            }
        }
        Err(at) => list.insert(
            at,
            Param {
                name,
                first: value,
                sent: 1,
            },
        ),
    }
    Ok(())
}

/// The `name=value` pairs of a form, as `split('&')` without the empty pieces and then
/// `split_once('=')` (a pair without `=` has an empty value) would give them, found in one
/// pass over the bytes that also notes which halves have a `+` or a `%` to decode.
struct FormPairs<'a> {
    text: &'a str,
    at: usize,
}

/// One pair of [`FormPairs`].
struct FormPair<'a> {
    name: &'a str,
    value: &'a str,
    name_escaped: bool,
    value_escaped: bool,
}

impl<'a> FormPairs<'a> {
    fn new(text: &'a str) -> Self {
        FormPairs { text, at: 0 }
    }
}

impl<'a> Iterator for FormPairs<'a> {
    type Item = FormPair<'a>;

    fn next(&mut self) -> Option<FormPair<'a>> {
        let bytes = self.text.as_bytes();
        loop {
            let start = self.at;
            if start >= bytes.len() {
                return None;
            }
            let mut equals = None;
            let mut escaped = [false; 2];
            let mut end = bytes.len();
            for (i, &byte) in bytes.iter().enumerate().skip(start) {
                match byte {
                    b'&' => {
                        end = i;
                        break;
                    }
                    b'=' if equals.is_none() => equals = Some(i),
                    b'+' | b'%' => escaped[usize::from(equals.is_some())] = true,
                    _ => {}
                }
            }
            self.at = end + 1;
            if end == start {
                continue;
            }
            // `&` and `=` are ASCII: every cut falls between characters.
            let (name, value) = match equals {
                Some(equals) => (
                    self.text.get(start..equals)?,
                    self.text.get(equals + 1..end)?,
                ),
                None => (self.text.get(start..end)?, ""),
            };
            return Some(FormPair {
                name,
                value,
                name_escaped: escaped[0],
                value_escaped: escaped[1],
            });
        }
    }
}

/// Form-decodes `component` onto the end of `out` (`escaped`: whether it has a `+` or a `%`):
/// where it went, or `NotUtf8` if it is not UTF-8 decoded.
fn decode_component(
    out: &mut Vec<u8>,
    component: &str,
    escaped: bool,
) -> Result<(usize, usize), ParamsError> {
    let start = out.len();
    if !escaped {
        out.extend_from_slice(component.as_bytes());
        return Ok((start, out.len()));
    }
    decode_into(out, component);
    std::str::from_utf8(out.get(start..).unwrap_or_default()).map_err(|_| ParamsError::NotUtf8)?;
    Ok((start, out.len()))
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%` and two hex
/// digits a byte (a `%` without them stays as it is); `None` if the result is not UTF-8.
/// Borrowed when there is nothing to decode.
pub fn form_decode(s: &str) -> Option<Cow<'_, str>> {
    if !needs_decoding(s) {
        return Some(Cow::Borrowed(s));
    }
    let mut decoded = Vec::with_capacity(s.len());
    decode_into(&mut decoded, s);
    String::from_utf8(decoded).ok().map(Cow::Owned)
}

fn needs_decoding(s: &str) -> bool {
    s.bytes().any(|b| b == b'+' || b == b'%')
}

/// Appends `s` form-decoded to `out`. Its callers know already that `s` has a `+` or a `%`
/// (text without either is copied as it is, and stays UTF-8).
fn decode_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        i += 1;
        out.push(match byte {
            b'+' => b' ',
            b'%' => match (hex(bytes.get(i)), hex(bytes.get(i + 1))) {
                (Some(high), Some(low)) => {
                    i += 2;
                    high << 4 | low
                }
                _ => b'%',
            },
            other => other,
        });
    }
}

fn hex(digit: Option<&u8>) -> Option<u8> {
    match digit? {
        d @ b'0'..=b'9' => Some(d - b'0'),
        d @ b'a'..=b'f' => Some(d - b'a' + 10),
        d @ b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    }
}

/// Reads a JSON object into `Params`. A well-formed object with a value the service refuses
/// (not a string, too long) is our error, not the JSON parser's: the visitor returns it.
struct ParamsVisitor;

impl<'de> Visitor<'de> for ParamsVisitor {
    type Value = Result<Params, ParamsError>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of string parameters")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut params = Params {
            text: String::new(),
            list: Vec::with_capacity(4),
        };
        let mut refused = None;
        while let Some(name) = map.next_key::<String>()? {
            let value = match map.next_value::<serde_json::Value>()? {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => {
                    refused.get_or_insert(ParamsError::NotAString(label(&name)));
                    continue;
                }
            };
            if let Err(e) = params.push(&name, &value) {
                refused.get_or_insert(e);
            }
        }
        Ok(match refused {
            Some(error) => Err(error),
            None => Ok(params),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_decodes_plus_and_percent_escapes() {
        let params = Params::from_form(b"a=x+y&b=%C3%A9%3D").unwrap();
        assert_eq!(params.get("a"), Some("x y"));
        assert_eq!(params.get("b"), Some("é="));
    }

    #[test]
    fn form_pairs_are_what_splitting_at_ampersands_then_the_first_equals_sign_gives() {
        let forms = [
            "",
            "&",
            "&&",
            "a",
            "a=",
            "=b",
            "=",
            "a=b=c",
            "&&a=1&&b=2&",
            "a+b=c%20d&e=f+",
            "x=%&%=y",
            "é=ü&ü",
            "a=b&a=c",
            "+&%=&=+",
        ];
        for form in forms {
            let ours: Vec<_> = FormPairs::new(form)
                .map(|p| (p.name, p.value, p.name_escaped, p.value_escaped))
                .collect();
            let split: Vec<_> = form
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (name, value) = p.split_once('=').unwrap_or((p, ""));
                    (name, value, needs_decoding(name), needs_decoding(value))
                })
                .collect();
            assert_eq!(ours, split, "{form:?}");
        }
    }

    #[test]
    fn a_percent_without_two_hex_digits_stays_and_an_escaped_plus_is_a_plus() {
        for (encoded, decoded) in [
            ("100%", "100%"),
            ("%4", "%4"),
            ("%zz%41", "%zzA"),
            ("%2B+%2b", "+ +"),
            ("a%20b", "a b"),
            ("plain", "plain"),
            ("%e2%82%AC", "€"),
        ] {
            assert_eq!(form_decode(encoded).as_deref(), Some(decoded), "{encoded}");
        }
    }

    #[test]
    fn form_decoding_is_percent_decoding_after_plus_as_space() {
        let samples = ["a+b%2Bc", "%%41%", "x%C3%A9y", "%ff", "++%2", "%20%2f%2F"];
        for sample in samples {
            let reference = percent_encoding::percent_decode_str(&sample.replace('+', " "))
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned());
            assert_eq!(
                form_decode(sample).as_deref(),
                reference.as_deref(),
                "{sample}"
            );
        }
    }

    #[test]
    fn non_utf8_after_decoding_is_refused() {
        assert_eq!(
            Params::from_form(b"a=%FF").unwrap_err(),
            ParamsError::NotUtf8
        );
        assert_eq!(
            Params::from_form(b"a=\xff").unwrap_err(),
            ParamsError::NotUtf8
        );
    }

    #[test]
    fn a_repeated_parameter_is_reported_by_its_known_name() {
        let params = Params::from_form(b"scope=&scope=x&state=s").unwrap();
        assert_eq!(params.repeated(), Some(Repeated(Some("scope"))));
        assert_eq!(params.one("scope"), Err(Repeated(Some("scope"))));
        assert_eq!(params.one("state"), Ok(Some("s")));
    }

    #[test]
    fn an_unknown_repeated_name_is_never_echoed() {
        let params = Params::from_form(b"a%22%5C%C3%A9=1&a%22%5C%C3%A9=2").unwrap();
        let repeated = params.repeated().unwrap();
        assert_eq!(repeated, Repeated(None));
        assert_eq!(repeated.to_string(), "a parameter is repeated");
    }

    #[test]
    fn an_empty_value_reads_as_absent() {
        let params = Params::from_form(b"scope=&state").unwrap();
        assert_eq!(params.one("scope"), Ok(None));
        assert_eq!(params.one("state"), Ok(None));
    }

    #[test]
    fn a_value_over_8_kib_is_refused() {
        let body = format!("code={}", "a".repeat(MAX_VALUE_LEN + 1));
        assert_eq!(
            Params::from_form(body.as_bytes()).unwrap_err(),
            ParamsError::TooLong
        );
    }

    #[test]
    fn json_repeats_are_kept_like_form_repeats() {
        let params = Params::from_json(br#"{"code":"a","code":"b"}"#).unwrap();
        assert_eq!(params.repeated(), Some(Repeated(Some("code"))));
    }

    #[test]
    fn a_json_value_that_is_not_a_string_names_only_a_known_parameter() {
        assert_eq!(
            Params::from_json(br#"{"grant_type":{"a":"\""}}"#).unwrap_err(),
            ParamsError::NotAString(Some("grant_type"))
        );
        assert_eq!(
            Params::from_json(br#"{"x\"y":[1]}"#).unwrap_err(),
            ParamsError::NotAString(None)
        );
    }

    #[test]
    fn json_that_is_not_one_object_is_malformed() {
        for body in [&b"[]"[..], b"{\"a\":\"b\"} {}", b"{", b"\"x\""] {
            assert_eq!(
                Params::from_json(body).unwrap_err(),
                ParamsError::MalformedJson
            );
        }
    }

    #[test]
    fn a_typed_parse_names_the_missing_parameter() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Request {
            code: String,
        }
        let params = Params::from_form(b"code=").unwrap();
        assert_eq!(
            params.parse::<Request>().unwrap_err(),
            ParamsError::Missing("code")
        );
    }
}
