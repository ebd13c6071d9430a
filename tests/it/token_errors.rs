//! Every error of `POST /token` (README, "Endpoints", RFC 6749 §5.2): its code, its status, the JSON body
//! shape, and `WWW-Authenticate` on 401. Framework rejections (404, 405, 413) included.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::*;

const FORM: &str = "application/x-www-form-urlencoded";

fn assert_www_authenticate(response: &TestResponse) {
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Basic "), "{challenge:?}");
    assert!(challenge.contains("realm="), "{challenge:?}");
}

// invalid_request

#[tokio::test]
async fn missing_grant_type_is_invalid_request() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[("scope", "read")],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn missing_grant_parameter_is_invalid_request() {
    let app = TestApp::new();
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "password"), ("username", USERNAME)],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        response.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn repeated_form_parameter_is_invalid_request() {
    let app = TestApp::new();
    let body = "grant_type=client_credentials&scope=read&scope=write";
    app.post_raw(
        "/token",
        Some(FORM),
        Some(basic_auth(CLIENT_ID, CLIENT_SECRET).as_bytes()),
        body,
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_repeated_parameter_of_any_name_is_never_echoed() {
    let app = TestApp::new();
    let body = "grant_type=client_credentials&a%22%5C%C3%A9=1&a%22%5C%C3%A9=2";
    let response = app
        .post_raw(
            "/token",
            Some(FORM),
            Some(basic_auth(CLIENT_ID, CLIENT_SECRET).as_bytes()),
            body,
        )
        .await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        response.json()["error_description"],
        "a parameter is repeated"
    );
}

#[tokio::test]
async fn a_json_grant_type_that_is_not_a_string_gets_a_plain_description() {
    let app = TestApp::new();
    let body = format!(r#"{{"grant_type":{{"\"":1}},"client_id":"{CLIENT_ID}"}}"#);
    let response = app
        .post_raw("/token", Some("application/json"), None, body)
        .await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        response.json()["error_description"],
        "grant_type must be a string"
    );
}

#[tokio::test]
async fn repeated_json_member_is_invalid_request() {
    let app = TestApp::new();
    let body = format!(
        r#"{{"grant_type":"client_credentials","client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","scope":"read","scope":"write"}}"#
    );
    app.post_raw("/token", Some("application/json"), None, body)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_parameter_repeated_after_an_empty_value_is_invalid_request() {
    let app = TestApp::new();
    let body = "grant_type=client_credentials&scope=&scope=write";
    app.post_raw(
        "/token",
        Some(FORM),
        Some(basic_auth(CLIENT_ID, CLIENT_SECRET).as_bytes()),
        body,
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    let json = format!(
        r#"{{"grant_type":"client_credentials","client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","scope":null,"scope":"read"}}"#
    );
    app.post_raw("/token", Some("application/json"), None, json)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn an_empty_parameter_reads_as_absent() {
    let app = TestApp::new();
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("scope", "")],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["scope"], "read write", "the default scope");
}

#[tokio::test]
async fn a_content_type_other_than_json_or_form_is_invalid_request() {
    let app = TestApp::new();
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]);
    app.post_raw("/token", Some("text/plain"), None, body)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_missing_content_type_is_invalid_request() {
    let app = TestApp::new();
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]);
    app.post_raw("/token", None, None, body)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn different_client_ids_in_basic_and_body_are_invalid_request() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CC_CLIENT),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

// invalid_client: 401 with WWW-Authenticate

#[tokio::test]
async fn unknown_client_is_invalid_client_with_www_authenticate() {
    let app = TestApp::new();
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "no-such-client"),
                ("client_secret", CLIENT_SECRET),
            ],
            None,
        )
        .await;
    response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_www_authenticate(&response);
}

#[tokio::test]
async fn wrong_secret_in_the_body_is_invalid_client_with_www_authenticate() {
    let app = TestApp::new();
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": "4AD3CE00-8ED5-4F0A-A979-ACE64A15207D",
            }),
        )
        .await;
    response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_www_authenticate(&response);
}

#[tokio::test]
async fn unknown_client_and_wrong_secret_answer_the_same_body() {
    let app = TestApp::new();
    let unknown = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some(("no-such-client", CLIENT_SECRET)),
        )
        .await;
    let wrong = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CLIENT_ID, "wrong")),
        )
        .await;
    unknown.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(unknown.json(), wrong.json());
}

#[tokio::test]
async fn confidential_client_without_a_secret_is_invalid_client() {
    let app = TestApp::new();
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
            ],
            None,
        )
        .await;
    response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_www_authenticate(&response);
}

#[tokio::test]
async fn no_client_authentication_at_all_is_invalid_client() {
    let app = TestApp::new();
    let response = app
        .post_form("/token", &[("grant_type", "client_credentials")], None)
        .await;
    response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_www_authenticate(&response);
}

#[tokio::test]
async fn public_client_sending_a_secret_is_invalid_client() {
    let app = TestApp::new();
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "whatever"),
                ("client_id", PUBLIC_CLIENT),
                ("client_secret", "a-secret"),
            ],
            None,
        )
        .await;
    response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_www_authenticate(&response);
}

#[tokio::test]
async fn malformed_basic_header_is_invalid_client() {
    let app = TestApp::new();
    for header in [
        "Basic !!!not-base64!!!",
        "Basic",
        // base64("no-colon")
        "Basic bm8tY29sb24=",
        "Bearer abc",
    ] {
        let response = app
            .post_raw(
                "/token",
                Some(FORM),
                Some(header.as_bytes()),
                "grant_type=client_credentials",
            )
            .await;
        response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        assert_www_authenticate(&response);
    }
}

// invalid_grant

#[tokio::test]
async fn unknown_refresh_token_is_invalid_grant() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "not-a-refresh-token"),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn authorization_code_with_an_unknown_code_is_invalid_grant() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("redirect_uri", "http://localhost:8080/demo/callback"),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn throttled_logins_do_not_reveal_whether_the_username_exists() {
    let app = TestApp::new();
    let attempt = |username: &'static str| {
        let app = &app;
        async move {
            app.post_form(
                "/token",
                &[
                    ("grant_type", "password"),
                    ("username", username),
                    ("password", "wrong"),
                ],
                Some((CLIENT_ID, CLIENT_SECRET)),
            )
            .await
        }
    };
    // TS_LOGIN_MAX_FAILURES defaults to 5.
    for _ in 0..5 {
        let known = attempt(USERNAME).await;
        let unknown = attempt("nobody-by-this-name").await;
        known.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
        assert_eq!(known.json(), unknown.json());
    }
    let known = attempt(USERNAME).await;
    let unknown = attempt("nobody-by-this-name").await;
    known.assert_oauth_error(StatusCode::TOO_MANY_REQUESTS, "invalid_request");
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.json(), unknown.json());
    assert_eq!(known.header("retry-after"), unknown.header("retry-after"));
}

// unauthorized_client

#[tokio::test]
async fn public_client_asking_for_the_password_grant_is_unauthorized_client() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[
            ("grant_type", "password"),
            ("client_id", PUBLIC_CLIENT),
            ("username", USERNAME),
            ("password", PASSWORD),
        ],
        None,
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn client_without_the_refresh_token_grant_refreshing_is_unauthorized_client() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "anything"),
        ],
        Some((CC_CLIENT, CC_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");
}

// unsupported_grant_type

#[tokio::test]
async fn unknown_grant_type_is_unsupported_grant_type() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn implicit_at_the_token_endpoint_is_unsupported_grant_type() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[("grant_type", "implicit")],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

// invalid_scope

#[tokio::test]
async fn client_credentials_beyond_the_clients_scopes_is_invalid_scope() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports:read read"),
        ],
        Some((CC_CLIENT, CC_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn scope_with_a_forbidden_character_is_invalid_scope() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[("grant_type", "client_credentials"), ("scope", "read\"")],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
}

// Framework rejections in the same JSON shape

#[tokio::test]
async fn body_over_64_kib_is_413_invalid_request() {
    let app = TestApp::new();
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(64 * 1024)
    );
    let response = app
        .post_raw(
            "/token",
            Some(FORM),
            Some(basic_auth(CLIENT_ID, CLIENT_SECRET).as_bytes()),
            body,
        )
        .await;
    response.assert_oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
}

#[tokio::test]
async fn json_body_over_64_kib_is_413_invalid_request() {
    let app = TestApp::new();
    let body = json!({"grant_type": "client_credentials", "pad": "a".repeat(64 * 1024)});
    app.post_json("/token", &body)
        .await
        .assert_oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
}

#[tokio::test]
async fn body_of_exactly_64_kib_is_read_not_refused_as_too_large() {
    let app = TestApp::new();
    let prefix = "grant_type=urn:x&pad=";
    let body = format!("{prefix}{}", "a".repeat(64 * 1024 - prefix.len()));
    assert_eq!(body.len(), 64 * 1024);
    // Read and parsed: the over-long parameter is refused, not the body size.
    app.post_raw("/token", Some(FORM), None, body)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn unknown_path_is_404_in_the_json_error_shape() {
    let app = TestApp::new();
    app.get("/no/such/endpoint")
        .await
        .assert_oauth_error(StatusCode::NOT_FOUND, "invalid_request");
}

#[tokio::test]
async fn get_on_the_token_endpoint_is_405_in_the_json_error_shape() {
    let app = TestApp::new();
    app.get("/token")
        .await
        .assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
}

#[tokio::test]
async fn post_on_the_jwks_is_405_in_the_json_error_shape() {
    let app = TestApp::new();
    app.post_raw("/.well-known/jwks.json", Some(FORM), None, "a=b")
        .await
        .assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
}
