//! Hostile input (docs/design.md, "Load, faults and bad input"): a few hundred malformed, oversized, duplicated, non-UTF-8 and
//! random requests from a fixed seed, to every POST endpoint. Each must answer a 4xx with an
//! RFC 6749 JSON error body: never a 5xx, never a panic, never another shape.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::common::*;

const SEED: u64 = 0x005e_ed0f_706b_656e;
const CASES: usize = 400;

/// The error codes a token, revocation or introspection request may answer (RFC 6749 §5.2,
/// RFC 7009 §2.2.1).
const CODES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
];

/// The POST endpoints that take RFC 6749 parameters; each must be served.
const ENDPOINTS: &[&str] = &["/token", "/revoke", "/introspect"];

struct Case {
    label: String,
    content_type: Option<Vec<u8>>,
    authorization: Option<Vec<u8>>,
    body: Vec<u8>,
    expect: Option<StatusCode>,
}

impl Case {
    fn new(label: impl Into<String>, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Self {
        Case {
            label: label.into(),
            content_type: content_type.map(|c| c.as_bytes().to_vec()),
            authorization: None,
            body: body.into(),
            expect: None,
        }
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

fn valid_json() -> String {
    format!(
        r#"{{"grant_type":"password","client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","username":"{USERNAME}","password":"wrong"}}"#
    )
}

fn valid_form() -> String {
    form(&[
        ("grant_type", "password"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("username", USERNAME),
        ("password", "wrong"),
    ])
}

fn case(rng: &mut Rng, i: usize) -> Case {
    match i % 10 {
        0 => {
            let fixed = [
                "{",
                "}",
                "{\"grant_type\":",
                "{\"a\":\"b\",}",
                "{'grant_type':'password'}",
                "{\"grant_type\":\"password\"}}",
                "{\"grant_type\":\"password\" \"x\":1}",
                "",
                "\u{feff}{}",
                "{\"grant_type\":\"\\ud800\"}",
            ];
            if rng.below(2) == 0 {
                Case::new("malformed JSON", Some(JSON), *rng.pick(&fixed))
            } else {
                let json = valid_json();
                let cut = rng.below(json.len() - 1);
                Case::new(format!("JSON cut at {cut}"), Some(JSON), &json[..cut])
            }
        }
        1 => {
            let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
            let deep_object = format!("{}1{}", "{\"a\":".repeat(3000), "}".repeat(3000));
            let shapes = [
                "[]".to_owned(),
                "[1,2,3]".to_owned(),
                "42".to_owned(),
                "-1e999".to_owned(),
                "\"grant_type\"".to_owned(),
                "null".to_owned(),
                "true".to_owned(),
                r#"{"grant_type":{"a":1}}"#.to_owned(),
                r#"{"grant_type":["password"]}"#.to_owned(),
                r#"{"grant_type":"password","username":{"$ne":null},"password":"x"}"#.to_owned(),
                r#"{"grant_type":true}"#.to_owned(),
                r#"{"grant_type":1e400}"#.to_owned(),
                deep,
                deep_object,
            ];
            Case::new(
                "JSON of the wrong shape",
                Some(JSON),
                rng.pick(&shapes).as_str(),
            )
        }
        2 => {
            let extra = rng.below(4096) + 1;
            let pad = "a".repeat(64 * 1024 + extra);
            let (content_type, body) = match rng.below(3) {
                0 => (Some(FORM), format!("grant_type=password&pad={pad}")),
                1 => (
                    Some(JSON),
                    format!(r#"{{"grant_type":"password","pad":"{pad}"}}"#),
                ),
                _ => (None, pad),
            };
            let mut case = Case::new("oversized", content_type, body);
            case.expect = Some(StatusCode::PAYLOAD_TOO_LARGE);
            case
        }
        3 => {
            let name = *rng.pick(&[
                "grant_type",
                "client_id",
                "client_secret",
                "username",
                "scope",
            ]);
            if rng.below(2) == 0 {
                let body = format!("{}&{name}=again", valid_form());
                Case::new(format!("form with {name} twice"), Some(FORM), body)
            } else {
                let json = valid_json();
                let body = format!("{},\"{name}\":\"again\"}}", &json[..json.len() - 1]);
                Case::new(format!("JSON with {name} twice"), Some(JSON), body)
            }
        }
        4 => {
            let (content_type, text) = if rng.below(2) == 0 {
                (FORM, valid_form())
            } else {
                (JSON, valid_json())
            };
            let mut body = text.into_bytes();
            for _ in 0..=rng.below(4) {
                let at = rng.below(body.len());
                // 0xF5..=0xFF never occur in UTF-8, so no insert can complete a sequence.
                let byte = 0xF5 + (rng.next() % 11) as u8;
                body.insert(at, byte);
            }
            Case::new("raw non-UTF-8 bytes", Some(content_type), body)
        }
        5 => {
            let fixed = [
                "grant_type=password&username=%FF%FE&password=x",
                "grant_type=password&username=jsmith&password=%C3%28",
                "%FF=1&grant_type=password",
                "grant_type=%FFpassword",
                "grant_type=password&username=%F",
                "grant_type=password&username=%zz&password=%",
                "grant_type=client_credentials&client_id=%ED%A0%80&client_secret=x",
                "grant_type=refresh_token&refresh_token=%00%01%02",
                "&&&=&==&grant_type",
                "=",
            ];
            Case::new("percent-encoded junk", Some(FORM), *rng.pick(&fixed))
        }
        6 => {
            let len = rng.below(2048);
            let body = rng.bytes(len);
            let content_type = *rng.pick(&[
                Some(FORM),
                Some(JSON),
                None,
                Some("application/octet-stream"),
            ]);
            Case::new(format!("{len} random bytes"), content_type, body)
        }
        7 => {
            let content_types: [&[u8]; 10] = [
                b"text/plain",
                b"application/xml",
                b"multipart/form-data; boundary=x",
                b"application/json; charset=utf-16",
                b"application/x-www-form-urlencoded;;;",
                b"application/jsonx",
                b"*/*",
                b"",
                b"\x80\xff",
                b"application/x-www-form-urlencoded\xff",
            ];
            let body = if rng.below(2) == 0 {
                valid_form()
            } else {
                valid_json()
            };
            let mut case = Case::new("wrong content type", None, body);
            let content_type = rng.pick(&content_types).to_vec();
            case.label = format!("content type {:?}", String::from_utf8_lossy(&content_type));
            case.content_type = Some(content_type);
            case
        }
        8 => {
            let long = "x".repeat(rng.below(50_000) + 9_000);
            let field = *rng.pick(&[
                "grant_type",
                "client_id",
                "username",
                "password",
                "scope",
                "refresh_token",
                "code",
            ]);
            if rng.below(2) == 0 {
                let body = format!("grant_type=password&{field}={long}");
                Case::new(format!("long {field} (form)"), Some(FORM), body)
            } else {
                let body = format!(r#"{{"grant_type":"password","{field}":"{long}"}}"#);
                Case::new(format!("long {field} (JSON)"), Some(JSON), body)
            }
        }
        _ => {
            let len = rng.below(512);
            let authorization = match rng.below(6) {
                0 => {
                    let raw = rng.bytes(len);
                    format!("Basic {}", STANDARD.encode(raw)).into_bytes()
                }
                1 => [b"Basic ".as_slice(), &rng.header_bytes(len)].concat(),
                2 => rng.header_bytes(len),
                3 => b"Basic Og==".to_vec(),
                4 => format!("Basic {}", "A".repeat(8 * 1024 + len)).into_bytes(),
                _ => {
                    let id = String::from_utf8_lossy(&rng.bytes(len)).into_owned();
                    basic_auth(&id, "secret").into_bytes()
                }
            };
            let mut case = Case::new(
                "random Authorization",
                Some(FORM),
                "grant_type=client_credentials",
            );
            case.authorization = Some(authorization);
            case
        }
    }
}

#[tokio::test]
async fn hostile_bodies_always_get_a_4xx_rfc_6749_json_error() {
    let app = TestApp::new();
    for endpoint in ENDPOINTS {
        let status = app.post_raw(endpoint, Some(FORM), None, "").await.status;
        assert_ne!(status, StatusCode::NOT_FOUND, "{endpoint} is not served");
    }

    let mut rng = Rng(SEED);
    for i in 0..CASES {
        let case = case(&mut rng, i);
        for endpoint in ENDPOINTS {
            let mut builder = request("POST", endpoint);
            if let Some(content_type) = &case.content_type {
                builder = builder.header("content-type", content_type.as_slice());
            }
            if let Some(authorization) = &case.authorization {
                builder = builder.header("authorization", authorization.as_slice());
            }
            let response = app
                .request(builder.body(case.body.clone().into()).unwrap())
                .await;
            let what = format!("case {i} ({}) to {endpoint}", case.label);
            assert!(
                response.status.is_client_error(),
                "{what}: {} {}",
                response.status,
                response.text()
            );
            if let Some(expected) = case.expect {
                assert_eq!(response.status, expected, "{what}");
            }
            assert_eq!(
                response.header("content-type"),
                Some("application/json"),
                "{what}"
            );
            let body: serde_json::Value = serde_json::from_slice(&response.body)
                .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", response.text()));
            let object = body.as_object().unwrap_or_else(|| panic!("{what}: {body}"));
            assert_eq!(object.len(), 2, "{what}: {body}");
            let error = body["error"].as_str().unwrap_or_default();
            assert!(CODES.contains(&error), "{what}: {body}");
            assert!(
                body["error_description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{what}: {body}"
            );
        }
    }
}

/// Sends raw bytes to a real server and reads until it closes: the whole answer.
async fn raw_exchange(request: &[u8]) -> (String, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::spawn(TestApp::new().state.clone()).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server closes the connection")
    .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("content-length");
    assert_eq!(length, body.len(), "{answer}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\ncontent-type: application/json"),
        "{head}"
    );
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(json.as_object().unwrap().len(), 2, "{json}");
    (head.lines().next().unwrap().to_owned(), json)
}

#[tokio::test]
async fn two_differing_content_lengths_get_a_400_with_the_json_error() {
    let (status, body) = raw_exchange(
        b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 400 "), "{status}");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn two_hundred_header_fields_get_a_431_with_the_json_error() {
    let mut request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    for i in 0..200 {
        request.extend_from_slice(format!("X-Field-{i}: v\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let (status, body) = raw_exchange(&request).await;
    assert!(status.starts_with("HTTP/1.1 431 "), "{status}");
    assert_eq!(body["error"], "invalid_request");
    assert_rfc6749_description(body["error_description"].as_str().unwrap());
}
