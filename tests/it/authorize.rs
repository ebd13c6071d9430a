//! `GET/POST /authorize` (README, "Endpoints"): which errors show a page and which redirect, the login
//! page itself, CSRF, wrong passwords and throttling, the successful login. The browser-like
//! helpers are in `common::login`.

use std::collections::HashMap;

use axum::http::StatusCode;

use crate::common::login::*;
use crate::common::*;

// --- Errors that show a page and never redirect ---

#[tokio::test]
async fn an_unknown_client_shows_an_error_page_and_never_redirects() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&with(
            &code_request(),
            "client_id",
            "no-such-client",
        )))
        .await;
    assert_error_page(&response, StatusCode::BAD_REQUEST);
    assert!(response.text().contains("not registered"));
}

#[tokio::test]
async fn a_missing_client_id_shows_an_error_page() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&without(&code_request(), "client_id")))
        .await;
    assert_error_page(&response, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_redirect_uri_that_is_not_exactly_a_registered_one_shows_an_error_page() {
    let app = TestApp::new();
    let attempts = [
        "http://localhost:8080/demo/callback/extra",
        "http://localhost:8080/demo/callback?next=https://evil.example",
        "http://localhost:8080/demo/callback#frag",
        "http://localhost:8081/demo/callback",
        "https://localhost:8080/demo/callback",
        "http://LOCALHOST:8080/demo/callback",
        "http://localhost:8080/demo/callback/",
        "http://localhost:8080/demo/Callback",
        "http://localhost:8080.evil.example/demo/callback",
        "http://localhost:8080@evil.example/demo/callback",
        "//evil.example",
        "https://evil.example/demo/callback",
        "/demo/callback",
    ];
    for attempt in attempts {
        let response = app
            .get(&authorize_uri(&with(
                &code_request(),
                "redirect_uri",
                attempt,
            )))
            .await;
        assert_error_page(&response, StatusCode::BAD_REQUEST);
        assert!(!response.text().contains("evil"), "{attempt}");
    }
}

#[tokio::test]
async fn a_missing_redirect_uri_shows_an_error_page_when_the_client_registered_several() {
    let app = TestApp::new();
    let several = with(
        &without(&spa_request(), "redirect_uri"),
        "client_id",
        PUBLIC_CLIENT,
    );
    let response = app.get(&authorize_uri(&several)).await;
    assert_error_page(&response, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_missing_redirect_uri_means_the_only_registered_one_keeping_its_query() {
    let app = fixture_app();
    let response = app
        .get(&authorize_uri(&[
            ("response_type", "code"),
            ("client_id", "code-only"),
            ("scope", "write"),
            ("state", "s1"),
        ]))
        .await;
    let url = location(&response);
    assert_eq!(base(&url), "https://app.example/cb");
    let params = query(&url);
    assert_eq!(params["tenant"], "1", "the registered query is kept");
    assert_eq!(params["error"], "invalid_scope");
    assert_eq!(params["state"], "s1");
    assert_eq!(params["iss"], ISSUER);
}

#[tokio::test]
async fn a_repeated_client_id_or_redirect_uri_shows_an_error_page() {
    let app = TestApp::new();
    for name in ["client_id", "redirect_uri"] {
        let mut pairs = code_request();
        let value = pairs.iter().find(|(k, _)| *k == name).unwrap().1;
        pairs.push((name, value));
        let response = app.get(&authorize_uri(&pairs)).await;
        assert_error_page(&response, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn a_query_over_8_kib_shows_an_error_page() {
    let app = TestApp::new();
    let long = "a".repeat(8 * 1024);
    let mut pairs = code_request();
    pairs.push(("nonce", &long));
    let response = app.get(&authorize_uri(&pairs)).await;
    assert_error_page(&response, StatusCode::URI_TOO_LONG);
}

// --- Errors that redirect back with error, error_description, state and iss ---

#[tokio::test]
async fn an_unknown_response_type_redirects_with_unsupported_response_type() {
    let app = TestApp::new();
    // The OpenID Connect hybrid flow is not supported (README, "OpenID Connect", lists the response types).
    let response = app
        .get(&authorize_uri(&with(
            &code_request(),
            "response_type",
            "code id_token",
        )))
        .await;
    assert_error_redirect(&response, CALLBACK, "unsupported_response_type");
    assert_eq!(query(&location(&response))["state"], "xyz");
}

#[tokio::test]
async fn a_request_object_redirects_with_request_not_supported() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&with(
            &code_request(),
            "request",
            "eyJhbGciOiJub25lIn0.eyJzY29wZSI6InJlYWQifQ.",
        )))
        .await;
    assert_error_redirect(&response, CALLBACK, "request_not_supported");
    assert_eq!(query(&location(&response))["state"], "xyz");
}

#[tokio::test]
async fn a_request_uri_redirects_with_request_uri_not_supported() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&with(
            &code_request(),
            "request_uri",
            "https://client.example/request.jwt",
        )))
        .await;
    assert_error_redirect(&response, CALLBACK, "request_uri_not_supported");
    assert_eq!(query(&location(&response))["state"], "xyz");
}

#[tokio::test]
async fn a_missing_response_type_redirects_with_invalid_request() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&without(&code_request(), "response_type")))
        .await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
}

#[tokio::test]
async fn a_scope_beyond_the_clients_redirects_with_invalid_scope() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&with(
            &code_request(),
            "scope",
            "read admin",
        )))
        .await;
    assert_error_redirect(&response, CALLBACK, "invalid_scope");
}

#[tokio::test]
async fn a_repeated_parameter_redirects_with_invalid_request() {
    let app = TestApp::new();
    let mut pairs = code_request();
    pairs.push(("scope", "read"));
    pairs.push(("scope", "write"));
    let response = app.get(&authorize_uri(&pairs)).await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
    assert!(query(&location(&response))["error_description"].contains("scope"));
}

#[tokio::test]
async fn a_pkce_method_other_than_s256_redirects_with_invalid_request() {
    let app = TestApp::new();
    let plain = with(
        &with(&spa_request(), "code_challenge_method", "plain"),
        "code_challenge",
        VERIFIER,
    );
    let response = app.get(&authorize_uri(&plain)).await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
}

#[tokio::test]
async fn a_malformed_code_challenge_redirects_with_invalid_request() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&with(
            &spa_request(),
            "code_challenge",
            "too-short",
        )))
        .await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
}

#[tokio::test]
async fn a_code_challenge_without_its_method_redirects_with_invalid_request() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&without(
            &spa_request(),
            "code_challenge_method",
        )))
        .await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
}

#[tokio::test]
async fn a_public_client_asking_for_a_code_without_pkce_redirects_with_invalid_request() {
    let app = TestApp::new();
    let request = without(
        &without(&spa_request(), "code_challenge"),
        "code_challenge_method",
    );
    let response = app.get(&authorize_uri(&request)).await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
    assert!(query(&location(&response))["error_description"].contains("PKCE"));
}

#[tokio::test]
async fn a_client_without_the_implicit_grant_gets_unauthorized_client_in_the_fragment() {
    let app = fixture_app();
    let response = app
        .get(&authorize_uri(&[
            ("response_type", "token"),
            ("client_id", "code-only"),
            ("state", "s2"),
        ]))
        .await;
    let url = location(&response);
    assert_eq!(url.query(), Some("tenant=1"), "nothing added to the query");
    let params = fragment(&url);
    assert_eq!(params["error"], "unauthorized_client");
    assert_eq!(params["state"], "s2");
    assert_eq!(params["iss"], ISSUER);
}

#[tokio::test]
async fn a_client_without_the_authorization_code_grant_gets_unauthorized_client() {
    let app = fixture_app();
    let response = app
        .get(&authorize_uri(&[
            ("response_type", "code"),
            ("client_id", "implicit-only"),
        ]))
        .await;
    assert_error_redirect(&response, "https://spa.example/cb", "unauthorized_client");
}

#[tokio::test]
async fn prompt_none_without_a_session_redirects_with_login_required() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&with(&code_request(), "prompt", "none")))
        .await;
    assert_error_redirect(&response, CALLBACK, "login_required");
    assert_eq!(query(&location(&response))["state"], "xyz");
}

// --- The login page ---

#[tokio::test]
async fn the_login_page_names_the_client_and_forbids_framing_and_caching() {
    let app = TestApp::new();
    let response = app.get(&authorize_uri(&code_request())).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    let csp = response.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("form-action"), "{csp}");
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    let html = response.text();
    assert!(html.contains("<strong>Example app</strong>"), "{html}");
    assert!(!html.contains("<script"), "works without JavaScript");
}

#[tokio::test]
async fn the_login_page_is_accessible_and_usable_on_a_phone() {
    let app = TestApp::new();
    let html = app.get(&authorize_uri(&code_request())).await.text();
    assert!(
        html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)
    );
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains(r#"<label for="username">"#));
    assert!(html.contains(r#"<label for="password">"#));
    assert!(html.contains(r#"id="username" name="username""#));
    assert!(html.contains(r#"id="password" name="password""#));
    assert!(html.contains(r#"autocomplete="username""#));
    assert!(html.contains(r#"autocomplete="current-password""#));
    let username_input = between(&html, "id=\"username\"", ">");
    assert!(username_input.contains("autofocus"), "{username_input}");
}

#[tokio::test]
async fn the_login_page_sets_a_csrf_cookie_and_repeats_it_in_a_hidden_field() {
    let app = TestApp::new();
    let response = app.get(&authorize_uri(&code_request())).await;
    let set_cookie = response.header("set-cookie").unwrap();
    assert!(set_cookie.starts_with("ts_csrf="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "the issuer is http");
    let cookie = between(set_cookie, "ts_csrf=", ";");
    assert_eq!(cookie.len(), 43, "256 bits, base64url");
    let fields: HashMap<_, _> = hidden_fields(&response.text()).into_iter().collect();
    assert_eq!(fields["csrf_token"], cookie);
}

#[tokio::test]
async fn the_login_page_reuses_the_browsers_csrf_cookie() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    jar.get_page(&app, &authorize_uri(&code_request())).await;
    let first = jar.get("ts_csrf").unwrap().to_owned();
    let second = jar.get_page(&app, &authorize_uri(&code_request())).await;
    assert!(second.header("set-cookie").is_none());
    let fields: HashMap<_, _> = hidden_fields(&second.text()).into_iter().collect();
    assert_eq!(fields["csrf_token"], first);
}

#[tokio::test]
async fn the_login_form_carries_the_authorization_request_in_hidden_fields() {
    let app = TestApp::new();
    let html = app
        .get(&authorize_uri(&with(&spa_request(), "scope", "read")))
        .await
        .text();
    let fields: HashMap<_, _> = hidden_fields(&html).into_iter().collect();
    assert_eq!(fields["response_type"], "code");
    assert_eq!(fields["client_id"], PUBLIC_CLIENT);
    assert_eq!(fields["redirect_uri"], CALLBACK);
    assert_eq!(fields["scope"], "read");
    assert_eq!(fields["state"], "spa-state");
    assert_eq!(fields["code_challenge"], CHALLENGE);
    assert_eq!(fields["code_challenge_method"], "S256");
    assert!(html.contains(r#"<form method="post" action="/authorize">"#));
}

#[tokio::test]
async fn the_login_page_escapes_what_the_request_carries() {
    let app = TestApp::new();
    let state = r#""><script>alert(1)</script>"#;
    let response = app
        .get(&authorize_uri(&with(&code_request(), "state", state)))
        .await;
    let html = response.text();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&#60;script&#62;"), "{html}");
    let fields: HashMap<_, _> = hidden_fields(&html).into_iter().collect();
    assert_eq!(fields["state"], state, "round-trips intact");
}

#[tokio::test]
async fn cookies_are_secure_and_host_prefixed_when_the_issuer_is_https() {
    let app = TestApp::with_vars(&[("TS_ISSUER", "https://auth.example")]);
    let mut jar = Jar::default();
    let page = jar.get_page(&app, &authorize_uri(&code_request())).await;
    let csrf = page.header("set-cookie").unwrap();
    assert!(
        csrf.starts_with("__Host-ts_csrf=")
            && csrf.contains("; Secure")
            && csrf.contains("; Path=/"),
        "{csrf}"
    );
    let response = jar.sign_in(&app, &code_request(), USERNAME, PASSWORD).await;
    let session = response.header("set-cookie").unwrap();
    assert!(
        session.starts_with("__Host-ts_session=") && session.contains("; Secure"),
        "{session}"
    );
    assert_eq!(query(&location(&response))["iss"], "https://auth.example");
}

#[tokio::test]
async fn under_https_a_csrf_cookie_without_the_host_prefix_is_refused() {
    let app = TestApp::with_vars(&[("TS_ISSUER", "https://auth.example")]);
    let mut jar = Jar::default();
    let page = jar.get_page(&app, &authorize_uri(&code_request())).await;
    let mut fields = hidden_fields(&page.text());
    // A value tossed by a sibling subdomain or over plain http, repeated in the form.
    let tossed = "A".repeat(43);
    fields.retain(|(name, _)| name != "csrf_token");
    fields.push(("csrf_token".into(), tossed.clone()));
    fields.push(("username".into(), USERNAME.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let mut attacker = Jar::default();
    attacker.set("ts_csrf", &tossed);
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = attacker.post(&app, "/authorize", &pairs).await;
    assert_error_page(&response, StatusCode::FORBIDDEN);
    assert!(response.header("location").is_none());
}

// --- CSRF ---

/// The login form's fields for the example client, with `csrf_token` as given.
fn login_fields(csrf: Option<&str>) -> Vec<(&str, &str)> {
    let mut pairs = code_request();
    pairs.push(("username", USERNAME));
    pairs.push(("password", PASSWORD));
    if let Some(csrf) = csrf {
        pairs.push(("csrf_token", csrf));
    }
    pairs
}

#[tokio::test]
async fn a_login_post_without_the_csrf_cookie_is_403_and_signs_nobody_in() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let token = "A".repeat(43);
    let response = jar
        .post(&app, "/authorize", &login_fields(Some(&token)))
        .await;
    assert_error_page(&response, StatusCode::FORBIDDEN);
    assert!(jar.get("ts_session").is_none());
}

#[tokio::test]
async fn a_login_post_with_a_csrf_token_unlike_its_cookie_is_403_and_signs_nobody_in() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    jar.get_page(&app, &authorize_uri(&code_request())).await;
    let other = "B".repeat(43);
    let response = jar
        .post(&app, "/authorize", &login_fields(Some(&other)))
        .await;
    assert_error_page(&response, StatusCode::FORBIDDEN);
    let response = jar.post(&app, "/authorize", &login_fields(None)).await;
    assert_error_page(&response, StatusCode::FORBIDDEN);
    assert!(jar.get("ts_session").is_none());
    let page = jar.get_page(&app, &authorize_uri(&code_request())).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "still the login form: no session"
    );
}

#[tokio::test]
async fn a_login_post_revalidates_the_authorization_request() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    jar.get_page(&app, &authorize_uri(&code_request())).await;
    let csrf = jar.get("ts_csrf").unwrap().to_owned();
    let mut pairs = with(
        &login_fields(Some(&csrf)),
        "redirect_uri",
        "https://evil.example/cb",
    );
    let response = jar.post(&app, "/authorize", &pairs).await;
    assert_error_page(&response, StatusCode::BAD_REQUEST);
    pairs = with(&login_fields(Some(&csrf)), "scope", "admin");
    let response = jar.post(&app, "/authorize", &pairs).await;
    assert_error_redirect(&response, CALLBACK, "invalid_scope");
    assert!(jar.get("ts_session").is_none());
}

// --- Logging in ---

#[tokio::test]
async fn a_wrong_password_re_renders_the_form_with_one_generic_message() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let wrong = jar.sign_in(&app, &code_request(), USERNAME, "wrong").await;
    let unknown = jar.sign_in(&app, &code_request(), "nobody", PASSWORD).await;
    for response in [&wrong, &unknown] {
        assert_eq!(response.status, StatusCode::OK);
        assert!(response.header("location").is_none());
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
        let html = response.text();
        assert!(html.contains("Invalid username or password."), "{html}");
        assert!(html.contains(r#"<form method="post" action="/authorize">"#));
    }
    assert_eq!(
        wrong.text().replace(USERNAME, "nobody"),
        unknown.text(),
        "no hint whether the user exists"
    );
    assert!(jar.get("ts_session").is_none());
}

#[tokio::test]
async fn failed_logins_past_the_limit_answer_a_429_page_with_retry_after() {
    let app = TestApp::with_vars(&[("TS_LOGIN_MAX_FAILURES", "2")]);
    let mut jar = Jar::default();
    for _ in 0..2 {
        let response = jar.sign_in(&app, &code_request(), USERNAME, "wrong").await;
        assert_eq!(response.status, StatusCode::OK);
    }
    let response = jar.sign_in(&app, &code_request(), USERNAME, PASSWORD).await;
    assert_eq!(
        response.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        response.text()
    );
    assert_eq!(response.header("retry-after"), Some("1"));
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(response.text().contains("Too many failed sign-in attempts"));
    assert!(
        jar.get("ts_session").is_none(),
        "even the right password waits"
    );

    app.clock.advance(1);
    let response = jar.sign_in(&app, &code_request(), USERNAME, PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "after the wait");
}

#[tokio::test]
async fn a_successful_login_redirects_with_a_code_state_and_iss_and_starts_a_session() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let response = jar.sign_in(&app, &code_request(), USERNAME, PASSWORD).await;
    let url = location(&response);
    assert_eq!(base(&url), CALLBACK);
    let params = query(&url);
    assert_eq!(params["code"].len(), 43, "256 bits, base64url");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(params.len(), 3);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));

    let cookie = response.header("set-cookie").unwrap();
    assert!(cookie.starts_with("ts_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"));
    assert_eq!(jar.get("ts_session").unwrap().len(), 43);
}

#[tokio::test]
async fn a_login_with_the_store_down_redirects_with_temporarily_unavailable() {
    let port = redis::free_port();
    let app = TestApp::with_vars(&[("TS_REDIS_URL", &format!("redis://127.0.0.1:{port}"))]);
    let mut jar = Jar::default();
    let response = jar.sign_in(&app, &code_request(), USERNAME, PASSWORD).await;
    assert_error_redirect(&response, CALLBACK, "temporarily_unavailable");
    assert_eq!(query(&location(&response))["state"], "xyz");
    assert!(jar.get("ts_session").is_none());
}

#[tokio::test]
async fn signing_out_with_the_store_down_answers_a_503_page() {
    let port = redis::free_port();
    let app = TestApp::with_vars(&[("TS_REDIS_URL", &format!("redis://127.0.0.1:{port}"))]);
    let mut jar = Jar::default();
    let page = jar.get_page(&app, "/logout").await;
    let mut fields = hidden_fields(&page.text());
    jar.set("ts_session", &"s".repeat(43));
    fields.retain(|(name, _)| name == "csrf_token");
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = jar.post(&app, "/logout", &pairs).await;
    assert_error_page(&response, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(response.text().contains("temporarily unavailable"));
}

#[tokio::test]
async fn a_login_form_over_16_kib_is_refused_with_an_error_page() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let long = "a".repeat(16 * 1024);
    let pairs = with(&login_fields(None), "nonce", &long);
    let response = jar.post(&app, "/authorize", &pairs).await;
    assert_error_page(&response, StatusCode::PAYLOAD_TOO_LARGE);
}
