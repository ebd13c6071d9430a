//! /authorize's OpenID Connect parameters (README, "OpenID Connect"): prompt, max_age, login_hint, nonce.

use axum::http::StatusCode;

use crate::common::login::*;
use crate::common::oidc::*;
use crate::common::*;

#[tokio::test]
async fn prompt_none_with_openid_and_no_session_redirects_login_required() {
    let app = TestApp::new();
    let request = with(&oidc_code_request(), "prompt", "none");
    let response = app.get(&authorize_uri(&request)).await;
    assert_error_redirect(&response, CALLBACK, "login_required");
    assert_eq!(query(&location(&response))["state"], "xyz");
}

#[tokio::test]
async fn a_prompt_other_than_none_or_login_redirects_invalid_request() {
    let app = TestApp::new();
    let request = with(&oidc_code_request(), "prompt", "consent");
    let response = app.get(&authorize_uri(&request)).await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
}

#[tokio::test]
async fn max_age_older_than_the_sessions_sign_in_shows_the_form_again() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    authorize(&app, &mut jar, &oidc_code_request()).await;
    app.clock.advance(120);
    let fresh = jar
        .get_page(
            &app,
            &authorize_uri(&with(&oidc_code_request(), "max_age", "600")),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::SEE_OTHER);
    let stale = jar
        .get_page(
            &app,
            &authorize_uri(&with(&oidc_code_request(), "max_age", "60")),
        )
        .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert!(stale.text().contains("<form"));
}

#[tokio::test]
async fn max_age_with_prompt_none_and_a_stale_session_redirects_login_required() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    authorize(&app, &mut jar, &oidc_code_request()).await;
    app.clock.advance(120);
    let request = with(
        &with(&oidc_code_request(), "max_age", "60"),
        "prompt",
        "none",
    );
    let response = jar.get_page(&app, &authorize_uri(&request)).await;
    assert_error_redirect(&response, CALLBACK, "login_required");
}

#[tokio::test]
async fn a_malformed_max_age_redirects_invalid_request() {
    let app = TestApp::new();
    let request = with(&oidc_code_request(), "max_age", "soon");
    let response = app.get(&authorize_uri(&request)).await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
}

#[tokio::test]
async fn login_hint_prefills_the_username() {
    let app = TestApp::new();
    let request = with(&oidc_code_request(), "login_hint", "jsmith");
    let page = app.get(&authorize_uri(&request)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains(r#"name="username" value="jsmith""#),
        "{}",
        page.text()
    );
}

#[tokio::test]
async fn the_nonce_travels_through_the_login_form() {
    let app = TestApp::new();
    let page = app.get(&authorize_uri(&oidc_code_request())).await;
    let fields = hidden_fields(&page.text());
    assert!(
        fields.contains(&("nonce".into(), NONCE.into())),
        "{fields:?}"
    );
}

#[tokio::test]
async fn max_age_zero_asks_for_a_new_sign_in_like_prompt_login() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    authorize(&app, &mut jar, &oidc_code_request()).await;
    let request = with(&oidc_code_request(), "max_age", "0");
    let page = jar.get_page(&app, &authorize_uri(&request)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("<form"));
}

#[tokio::test]
async fn ui_locales_is_ignored() {
    let app = TestApp::new();
    let request = with(&oidc_code_request(), "ui_locales", "fr-CA fr en");
    let page = app.get(&authorize_uri(&request)).await;
    assert_eq!(page.status, StatusCode::OK);
}
