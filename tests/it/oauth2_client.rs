//! The flows as a third-party OAuth 2.0 client library sees them: the `oauth2` crate against a
//! served instance on 127.0.0.1, with client_secret_basic. The login step of the code flow is
//! driven over HTTP as a browser would (`common::login`).

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    RefreshToken, RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, Scope,
    TokenResponse, TokenUrl,
};

use crate::common::login::{CALLBACK, Jar, hidden_fields, location, query};
use crate::common::*;

/// The served app, and an HTTP client that never follows redirects (as `oauth2` requires).
async fn served() -> (TestApp, TestServer, reqwest::Client) {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    (app, server, http())
}

macro_rules! example_client {
    ($server:expr) => {
        BasicClient::new(ClientId::new(CLIENT_ID.into()))
            .set_client_secret(ClientSecret::new(CLIENT_SECRET.into()))
            .set_auth_uri(AuthUrl::new($server.url("/authorize")).unwrap())
            .set_token_uri(TokenUrl::new($server.url("/token")).unwrap())
            .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap())
    };
}

#[tokio::test]
async fn client_credentials_through_the_oauth2_crate() {
    let (_app, server, http) = served().await;
    let token = example_client!(server)
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .unwrap();
    let (_, claims) = resource_server::verify(
        &server.base,
        token.access_token().secret(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["sub"], CLIENT_ID);
    assert_eq!(token.scopes().unwrap(), &[Scope::new("read".into())]);
    assert!(token.refresh_token().is_some());
}

#[tokio::test]
async fn password_through_the_oauth2_crate() {
    let (_app, server, http) = served().await;
    let token = example_client!(server)
        .exchange_password(
            &ResourceOwnerUsername::new(USERNAME.into()),
            &ResourceOwnerPassword::new(PASSWORD.into()),
        )
        .request_async(&http)
        .await
        .unwrap();
    let (_, claims) = resource_server::verify(
        &server.base,
        token.access_token().secret(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(token.expires_in().unwrap().as_secs(), 900);
}

#[tokio::test]
async fn refresh_through_the_oauth2_crate_rotates_and_the_old_token_is_refused() {
    let (_app, server, http) = served().await;
    let client = example_client!(server);
    let first = client
        .exchange_password(
            &ResourceOwnerUsername::new(USERNAME.into()),
            &ResourceOwnerPassword::new(PASSWORD.into()),
        )
        .request_async(&http)
        .await
        .unwrap();
    let old = first.refresh_token().unwrap();
    let second = client
        .exchange_refresh_token(old)
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(second.refresh_token().unwrap().secret(), old.secret());
    let replay = client
        .exchange_refresh_token(&RefreshToken::new(old.secret().clone()))
        .request_async(&http)
        .await;
    match replay {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(*error.error(), BasicErrorResponseType::InvalidGrant);
        }
        other => panic!("a replayed refresh token was not invalid_grant: {other:?}"),
    }
}

#[tokio::test]
async fn authorization_code_with_pkce_through_the_oauth2_crate() {
    let (app, server, http) = served().await;
    let client = example_client!(server);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    // The browser: open the login page the library's URL names, sign in.
    let mut jar = Jar::default();
    let page = jar
        .get_page(&app, &format!("/authorize?{}", url.query().unwrap()))
        .await;
    let mut fields = hidden_fields(&page.text());
    fields.push(("username".into(), USERNAME.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let back = query(&location(&jar.post(&app, "/authorize", &pairs).await));
    assert_eq!(&back["state"], state.secret());
    let token = client
        .exchange_code(AuthorizationCode::new(back["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let (_, claims) = resource_server::verify(
        &server.base,
        token.access_token().secret(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["scope"], "read");
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client_to_the_oauth2_crate() {
    let (_app, server, http) = served().await;
    let result = example_client!(server)
        .set_client_secret(ClientSecret::new("wrong".into()))
        .exchange_client_credentials()
        .request_async(&http)
        .await;
    match result {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(*error.error(), BasicErrorResponseType::InvalidClient);
        }
        other => panic!("a wrong secret was not invalid_client: {other:?}"),
    }
}
