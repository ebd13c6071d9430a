//! The login page in a real headless Chromium over WebDriver (chromedriver + fantoccini):
//! type the credentials, submit, land on the redirect, redeem the code, verify the token
//! through the JWKS; the implicit flow's fragment; the SSO skip; a wrong password; the
//! OpenID Connect code flow and RP-initiated logout back to the client; a pushed
//! authorization request (RFC 9126).
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them).

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use tempfile::TempDir;
use token_service::AppState;
use token_service::clock::Clock;
use token_service::config::Settings;

use crate::common::browser::{Browser, ONE_BROWSER};
use crate::common::login::{CHALLENGE, VERIFIER, authorize_uri, fragment, query};
use crate::common::oidc::verify_id_token;
use crate::common::*;

/// The service on 127.0.0.1 with tests/fixtures/browser.toml, its redirect URIs on this
/// server's own port (known only once the listener is bound).
struct Site {
    base: String,
    callback: String,
    _config: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Site {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let template = std::fs::read_to_string(repo_path("tests/fixtures/browser.toml")).unwrap();
        let config = dir.path().join("browser.toml");
        std::fs::write(&config, template.replace("PORT", &port.to_string())).unwrap();
        let settings = Settings::from_vars([
            ("TS_CONFIG_FILE".to_owned(), config.display().to_string()),
            (
                "TS_KEYS_DIR".to_owned(),
                repo_path("keys").display().to_string(),
            ),
        ])
        .unwrap();
        let state: AppState = token_service::cli::load(settings, Clock::System).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = token_service::run(listener, state, async {
                let _ = rx.await;
            })
            .await;
        });
        let base = format!("http://127.0.0.1:{port}");
        Site {
            callback: format!("{base}/demo/callback"),
            base,
            _config: dir,
            shutdown: Some(tx),
        }
    }

    fn code_request(&self) -> String {
        let request = [
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", self.callback.as_str()),
            ("state", "xyz"),
        ];
        format!("{}{}", self.base, authorize_uri(&request))
    }

    /// Redeems a code at /token as the example client (or demo-spa with the verifier).
    async fn redeem(&self, body: serde_json::Value) -> serde_json::Value {
        let response = http()
            .post(format!("{}/token", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn a_user_signs_in_in_a_browser_and_the_code_redeems_for_a_token_that_verifies() {
    let _one = ONE_BROWSER.lock().await;
    let site = Site::start().await;
    let browser = Browser::start().await;
    browser.client.goto(&site.code_request()).await.unwrap();
    let heading = browser
        .client
        .find(Locator::Css("main p strong"))
        .await
        .unwrap();
    assert_eq!(heading.text().await.unwrap(), "Example app");
    let focused = browser
        .client
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "username", "the username field has the focus");
    let png = browser.client.screenshot().await.unwrap();
    std::fs::write("/tmp/login-page.png", png).unwrap();

    browser.sign_in(USERNAME, PASSWORD).await;
    let url = browser.wait_for_url(&site.callback).await;
    let params = query(&url);
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], "http://localhost:8080");
    let shown = browser.client.find(Locator::Id("code")).await.unwrap();
    assert_eq!(
        shown.text().await.unwrap(),
        params["code"],
        "the demo page shows it"
    );

    let tokens = site
        .redeem(json!({
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "code": params["code"],
            "redirect_uri": site.callback,
        }))
        .await;
    assert!(tokens["refresh_token"].is_string());
    let (_, claims) = resource_server::verify(
        &site.base,
        tokens["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["sub"], SUBJECT);
    browser.close().await;
}

#[tokio::test]
async fn the_implicit_flow_leaves_the_token_in_the_fragment_of_the_browsers_url() {
    let _one = ONE_BROWSER.lock().await;
    let site = Site::start().await;
    let browser = Browser::start().await;
    let request = [
        ("response_type", "token"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", site.callback.as_str()),
        ("state", "imp"),
    ];
    let start = format!("{}{}", site.base, authorize_uri(&request));
    browser.client.goto(&start).await.unwrap();
    browser.sign_in(USERNAME, PASSWORD).await;
    let url = browser.wait_for_url(&site.callback).await;
    assert_eq!(url.query(), None);
    let params = fragment(&url);
    assert_eq!(params["token_type"], "Bearer");
    assert_eq!(params["state"], "imp");
    assert!(!params.contains_key("refresh_token"));
    let (_, claims) = resource_server::verify(
        &site.base,
        &params["access_token"],
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["client_id"], CLIENT_ID);
    let page = browser.client.source().await.unwrap();
    assert!(
        page.contains("fragment"),
        "the demo page explains where the token is"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_second_client_skips_the_form_thanks_to_the_sso_session() {
    let _one = ONE_BROWSER.lock().await;
    let site = Site::start().await;
    let browser = Browser::start().await;
    browser.client.goto(&site.code_request()).await.unwrap();
    browser.sign_in(USERNAME, PASSWORD).await;
    browser.wait_for_url(&site.callback).await;

    let request = [
        ("response_type", "code"),
        ("client_id", PUBLIC_CLIENT),
        ("redirect_uri", site.callback.as_str()),
        ("state", "second"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let start = format!("{}{}", site.base, authorize_uri(&request));
    browser.client.goto(&start).await.unwrap();
    let url = browser.wait_for_url(&site.callback).await;
    let params = query(&url);
    assert_eq!(params["state"], "second", "straight back, no form");
    let tokens = site
        .redeem(json!({
            "grant_type": "authorization_code",
            "client_id": PUBLIC_CLIENT,
            "code": params["code"],
            "redirect_uri": site.callback,
            "code_verifier": VERIFIER,
        }))
        .await;
    let (_, claims) = resource_server::verify(
        &site.base,
        tokens["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["client_id"], PUBLIC_CLIENT);
    browser.close().await;
}

#[tokio::test]
async fn a_wrong_password_shows_the_generic_message_in_the_browser() {
    let _one = ONE_BROWSER.lock().await;
    let site = Site::start().await;
    let browser = Browser::start().await;
    browser.client.goto(&site.code_request()).await.unwrap();
    browser.sign_in(USERNAME, "not-the-password").await;
    let message = browser
        .client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("login-error"))
        .await
        .unwrap();
    assert_eq!(
        message.text().await.unwrap(),
        "Invalid username or password."
    );
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/authorize");
    let username = browser.client.find(Locator::Id("username")).await.unwrap();
    assert_eq!(
        username.prop("value").await.unwrap().as_deref(),
        Some(USERNAME)
    );
    browser.close().await;
}

#[tokio::test]
async fn an_openid_connect_sign_in_and_logout_return_to_the_client() {
    let _one = ONE_BROWSER.lock().await;
    let site = Site::start().await;
    let browser = Browser::start().await;
    let request = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", site.callback.as_str()),
        ("scope", "openid profile email"),
        ("state", "oidc"),
        ("nonce", "browser-nonce"),
    ];
    let start = format!("{}{}", site.base, authorize_uri(&request));
    browser.client.goto(&start).await.unwrap();
    browser.sign_in(USERNAME, PASSWORD).await;
    let url = browser.wait_for_url(&site.callback).await;
    let params = query(&url);
    assert_eq!(params["state"], "oidc");
    let tokens = site
        .redeem(json!({
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "code": params["code"],
            "redirect_uri": site.callback,
        }))
        .await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let (_, claims) = verify_id_token(&site.base, id_token, CLIENT_ID).await;
    assert_eq!(claims["nonce"], "browser-nonce");
    assert_eq!(claims["email"], "jsmith@example.com");

    let logout = [
        ("id_token_hint", id_token),
        ("post_logout_redirect_uri", site.callback.as_str()),
        ("state", "bye"),
    ];
    let logout = format!("{}/logout?{}", site.base, form(&logout));
    browser.client.goto(&logout).await.unwrap();
    browser
        .client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let url = browser.wait_for_url(&site.callback).await;
    assert_eq!(
        query(&url)["state"],
        "bye",
        "back at the client after logout"
    );

    browser.client.goto(&start).await.unwrap();
    let form_again = browser.client.find(Locator::Id("username")).await;
    assert!(
        form_again.is_ok(),
        "the session has ended: the form is shown"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_pushed_request_signs_in_in_a_browser_for_a_client_that_requires_par() {
    let _one = ONE_BROWSER.lock().await;
    let site = Site::start().await;
    let pushed: serde_json::Value = http()
        .post(format!("{}/par", site.base))
        .basic_auth("par-only", Some(CLIENT_SECRET))
        .form(&[
            ("response_type", "code"),
            ("redirect_uri", site.callback.as_str()),
            ("state", "pushed"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let browser = Browser::start().await;
    let start = [("client_id", "par-only"), ("request_uri", request_uri)];
    let start = format!("{}{}", site.base, authorize_uri(&start));
    browser.client.goto(&start).await.unwrap();
    let heading = browser
        .client
        .find(Locator::Css("main p strong"))
        .await
        .unwrap();
    assert_eq!(heading.text().await.unwrap(), "Pushing app");
    browser.sign_in(USERNAME, PASSWORD).await;
    let url = browser.wait_for_url(&site.callback).await;
    let params = query(&url);
    assert_eq!(params["state"], "pushed");

    let tokens = site
        .redeem(json!({
            "grant_type": "authorization_code",
            "client_id": "par-only",
            "client_secret": CLIENT_SECRET,
            "code": params["code"],
            "redirect_uri": site.callback,
        }))
        .await;
    let (_, claims) = resource_server::verify(
        &site.base,
        tokens["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["client_id"], "par-only");
    assert_eq!(claims["sub"], SUBJECT);

    browser.client.goto(&start).await.unwrap();
    let page = browser.client.source().await.unwrap();
    assert!(
        page.contains("already used or has expired"),
        "the request_uri was spent"
    );
    browser.close().await;
}
