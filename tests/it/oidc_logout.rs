//! OpenID Connect RP-Initiated Logout 1.0 on `/logout` (README, "OpenID Connect"): back to a registered
//! `post_logout_redirect_uri` with `state`, only after the CSRF-protected confirmation;
//! anything unregistered or unverifiable is an error page, never a redirect.

use axum::http::StatusCode;

use crate::common::login::*;
use crate::common::oidc::*;
use crate::common::*;

/// The example client's registered post-logout redirect URI (tests/fixtures/service.toml).
const POST_LOGOUT: &str = CALLBACK;

fn logout_uri(pairs: &[(&str, &str)]) -> String {
    format!("/logout?{}", form(pairs))
}

/// Opens `uri` and submits its confirmation form as a browser would.
async fn confirm(app: &TestApp, jar: &mut Jar, uri: &str) -> TestResponse {
    let page = jar.get_page(app, uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let fields = hidden_fields(&page.text());
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    jar.post(app, "/logout", &pairs).await
}

#[tokio::test]
async fn logout_with_a_registered_post_logout_redirect_uri_returns_there_with_state() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    authorize(&app, &mut jar, &oidc_code_request()).await;
    let uri = logout_uri(&[
        ("client_id", CLIENT_ID),
        ("post_logout_redirect_uri", POST_LOGOUT),
        ("state", "bye"),
    ]);
    let page = jar.get_page(&app, &uri).await;
    assert_eq!(page.status, StatusCode::OK, "a GET only asks");
    assert!(page.text().contains("Example app"));
    let response = confirm(&app, &mut jar, &uri).await;
    let url = location(&response);
    assert_eq!(base(&url), POST_LOGOUT);
    assert_eq!(query(&url)["state"], "bye");
    assert!(
        jar.get("ts_session").is_none(),
        "the session cookie is expired"
    );
    let again = jar
        .get_page(&app, &authorize_uri(&oidc_code_request()))
        .await;
    assert_eq!(again.status, StatusCode::OK, "the session has ended");
}

#[tokio::test]
async fn an_id_token_hint_names_the_client_when_client_id_is_absent() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let url = authorize(&app, &mut jar, &oidc_code_request()).await;
    let tokens = redeem(&app, &query(&url)["code"]).await;
    // An expired hint still names the client (RP-Initiated Logout §2).
    app.clock.advance(3600);
    let uri = logout_uri(&[
        ("id_token_hint", tokens["id_token"].as_str().unwrap()),
        ("post_logout_redirect_uri", POST_LOGOUT),
    ]);
    let response = confirm(&app, &mut jar, &uri).await;
    assert_eq!(base(&location(&response)), POST_LOGOUT);
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_shows_an_error_page() {
    let app = TestApp::new();
    let uri = logout_uri(&[
        ("client_id", CLIENT_ID),
        ("post_logout_redirect_uri", "https://evil.example/"),
        ("state", "bye"),
    ]);
    let response = app.get(&uri).await;
    assert_error_page(&response, StatusCode::BAD_REQUEST);
}

/// A signed-in browser that has opened the logout page, and the CSRF token its form posts.
async fn signed_in_at_the_logout_page(app: &TestApp) -> (Jar, String) {
    let mut jar = Jar::default();
    authorize(app, &mut jar, &oidc_code_request()).await;
    jar.get_page(app, "/logout").await;
    let csrf = jar.get("ts_csrf").unwrap().to_owned();
    (jar, csrf)
}

/// The session still stands: `/authorize` goes straight back to the client.
async fn assert_still_signed_in(app: &TestApp, jar: &mut Jar) {
    let again = jar
        .get_page(app, &authorize_uri(&oidc_code_request()))
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "still signed in");
}

#[tokio::test]
async fn a_posted_unregistered_post_logout_redirect_uri_shows_an_error_page_and_keeps_the_session()
{
    let app = TestApp::new();
    let (mut jar, csrf) = signed_in_at_the_logout_page(&app).await;
    let response = jar
        .post(
            &app,
            "/logout",
            &[
                ("csrf_token", &csrf),
                ("client_id", CLIENT_ID),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
        )
        .await;
    assert_error_page(&response, StatusCode::BAD_REQUEST);
    assert_still_signed_in(&app, &mut jar).await;
}

#[tokio::test]
async fn a_confirmation_form_over_64_kib_is_413_and_keeps_the_session() {
    let app = TestApp::new();
    let (mut jar, csrf) = signed_in_at_the_logout_page(&app).await;
    let pad = "a".repeat(64 * 1024);
    let response = jar
        .post(&app, "/logout", &[("csrf_token", &csrf), ("pad", &pad)])
        .await;
    assert_error_page(&response, StatusCode::PAYLOAD_TOO_LARGE);
    assert_still_signed_in(&app, &mut jar).await;
}

#[tokio::test]
async fn a_post_logout_redirect_uri_of_another_client_shows_an_error_page() {
    let app = TestApp::new();
    // Registered for the example client, not for the public one.
    let uri = logout_uri(&[
        ("client_id", PUBLIC_CLIENT),
        ("post_logout_redirect_uri", POST_LOGOUT),
    ]);
    assert_error_page(&app.get(&uri).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_post_logout_redirect_uri_without_a_client_shows_an_error_page() {
    let app = TestApp::new();
    let uri = logout_uri(&[("post_logout_redirect_uri", POST_LOGOUT)]);
    assert_error_page(&app.get(&uri).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_forged_id_token_hint_shows_an_error_page() {
    let app = TestApp::new();
    let elsewhere = TestApp::with_vars(&[("TS_KEYS_DIR", &fixture("keys-eddsa"))]);
    let tokens = oidc_code_tokens(&elsewhere).await;
    let uri = logout_uri(&[
        ("id_token_hint", tokens["id_token"].as_str().unwrap()),
        ("post_logout_redirect_uri", POST_LOGOUT),
    ]);
    assert_error_page(&app.get(&uri).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_id_token_hint_for_another_client_than_client_id_shows_an_error_page() {
    let app = TestApp::new();
    let tokens = oidc_code_tokens(&app).await;
    let uri = logout_uri(&[
        ("id_token_hint", tokens["id_token"].as_str().unwrap()),
        ("client_id", PUBLIC_CLIENT),
    ]);
    assert_error_page(&app.get(&uri).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_access_token_is_no_id_token_hint() {
    let app = TestApp::new();
    let tokens = oidc_code_tokens(&app).await;
    let uri = logout_uri(&[("id_token_hint", tokens["access_token"].as_str().unwrap())]);
    assert_error_page(&app.get(&uri).await, StatusCode::BAD_REQUEST);
}
