//! A real OpenID Connect relying party, the `openidconnect` crate, against a served instance
//! whose issuer is its own base URL: discovery, the code flow with PKCE and nonce, ID-token
//! verification, userinfo, and the implicit flow's `at_hash` for every key type. The login
//! step is a browser's, over HTTP.

use std::collections::HashMap;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::header;
use url::Url;

use crate::common::login::{CALLBACK, hidden_fields};
use crate::common::*;

/// The service at its own issuer, on the test config and the keys in `keys`.
async fn provider(keys: &str) -> TestServer {
    let keys = fixture(keys);
    TestServer::spawn_at_issuer(|base| {
        TestApp::with_vars(&[("TS_ISSUER", base), ("TS_KEYS_DIR", &keys)]).state
    })
    .await
}

fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Opens `authorize_url` as a browser and signs in as the test user; the redirect back.
async fn sign_in_over_http(authorize_url: &Url) -> Url {
    let http = http();
    let page = http.get(authorize_url.as_str()).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let cookies: Vec<String> = page
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let mut fields = hidden_fields(&page.text().await.unwrap());
    fields.push(("username".into(), USERNAME.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let mut form_url = authorize_url.clone();
    form_url.set_query(None);
    let response = http
        .post(form_url.as_str())
        .header(header::COOKIE, cookies.join("; "))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    Url::parse(location).unwrap()
}

#[tokio::test]
async fn an_openid_connect_library_discovers_runs_the_code_flow_and_reads_userinfo() {
    let server = provider("keys").await;
    let http = rp_http();
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(CLIENT_ID.into()),
        Some(ClientSecret::new(CLIENT_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let back = sign_in_over_http(&authorize_url).await;
    let params: HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(&params["state"], csrf.secret());
    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");

    let id_token = tokens.id_token().expect("an id_token");
    let algs = metadata.id_token_signing_alg_values_supported().clone();
    let id_verifier = client.id_token_verifier().set_allowed_algs(algs);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("the ID token verifies");
    assert_eq!(claims.subject().as_str(), SUBJECT);
    assert!(claims.auth_time().is_some());
    let email = claims.email().map(|e| e.as_str().to_owned());
    assert_eq!(email.as_deref(), Some("jsmith@example.com"));

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().to_owned(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject().as_str(), SUBJECT);
    assert_eq!(
        userinfo.preferred_username().map(|u| u.as_str()),
        Some(USERNAME)
    );
    let name = userinfo
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned());
    assert_eq!(name.as_deref(), Some("John Smith"));
}

#[tokio::test]
async fn an_openid_connect_library_verifies_the_implicit_flows_at_hash_for_every_key_type() {
    for keys in ["keys", "keys-eddsa", "keys-rs256"] {
        let server = provider(keys).await;
        let http = rp_http();
        let issuer = IssuerUrl::new(server.base.clone()).unwrap();
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .expect("discovery");
        let algs = metadata.id_token_signing_alg_values_supported().clone();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(CLIENT_ID.into()),
            Some(ClientSecret::new(CLIENT_SECRET.into())),
        )
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
        let (authorize_url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::Implicit(true),
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .url();
        let back = sign_in_over_http(&authorize_url).await;
        let params: HashMap<String, String> =
            url::form_urlencoded::parse(back.fragment().unwrap().as_bytes())
                .into_owned()
                .collect();
        let id_token: CoreIdToken = params["id_token"].parse().unwrap();
        let id_verifier = client.id_token_verifier().set_allowed_algs(algs);
        let claims = id_token.claims(&id_verifier, &nonce).expect("verifies");
        let access_token = AccessToken::new(params["access_token"].clone());
        let expected = AccessTokenHash::from_token(
            &access_token,
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&id_verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(claims.access_token_hash(), Some(&expected), "{keys}");
    }
}
