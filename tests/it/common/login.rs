//! The login page as a browser sees it: a cookie jar over `TestApp`, the hidden fields of a
//! form, redirects and their query or fragment, and the requests the tests send.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::http::{StatusCode, header};
use url::Url;

use super::*;

pub const CALLBACK: &str = "http://localhost:8080/demo/callback";
pub const ISSUER: &str = "http://localhost:8080";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The app on tests/fixtures/authorize.toml (code-only and implicit-only clients).
pub fn fixture_app() -> TestApp {
    let vars = [
        ("TS_CONFIG_FILE", repo_path("tests/fixtures/authorize.toml")),
        ("TS_KEYS_DIR", repo_path(TEST_KEYS)),
    ]
    .map(|(k, v)| (k.to_owned(), v.display().to_string()));
    TestApp::with_settings(token_service::config::Settings::from_vars(vars).unwrap())
}

/// The example client asking for a code, as the README does.
pub fn code_request() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("state", "xyz"),
    ]
}

/// The public client asking for a code with PKCE.
pub fn spa_request() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("client_id", PUBLIC_CLIENT),
        ("redirect_uri", CALLBACK),
        ("state", "spa-state"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

pub fn authorize_uri(pairs: &[(&str, &str)]) -> String {
    format!("/authorize?{}", form(pairs))
}

/// A browser's cookies: what the app set, sent back with every request.
#[derive(Default)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), value.to_owned());
    }

    fn absorb(&mut self, response: &TestResponse) {
        for value in response.headers.get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let (name, cookie) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), cookie.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get_page(&mut self, app: &TestApp, uri: &str) -> TestResponse {
        let mut builder = request("GET", uri);
        if !self.0.is_empty() {
            builder = builder.header(header::COOKIE, self.header());
        }
        let response = app.request(builder.body(Body::empty()).unwrap()).await;
        self.absorb(&response);
        response
    }

    pub async fn post(&mut self, app: &TestApp, uri: &str, pairs: &[(&str, &str)]) -> TestResponse {
        let mut builder =
            request("POST", uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if !self.0.is_empty() {
            builder = builder.header(header::COOKIE, self.header());
        }
        let response = app
            .request(builder.body(Body::from(form(pairs))).unwrap())
            .await;
        self.absorb(&response);
        response
    }

    /// Opens /authorize and submits the login form with `username` and `password`.
    pub async fn sign_in(
        &mut self,
        app: &TestApp,
        request: &[(&str, &str)],
        username: &str,
        password: &str,
    ) -> TestResponse {
        let page = self.get_page(app, &authorize_uri(request)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let mut fields = hidden_fields(&page.text());
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post(app, "/authorize", &pairs).await
    }
}

/// Every `<input type="hidden">` of a page, unescaped.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let name = between(input, "name=\"", "\"");
            let value = between(input, "value=\"", "\"");
            (unescape(&name), unescape(&value))
        })
        .collect()
}

pub fn between(s: &str, start: &str, end: &str) -> String {
    let from = s.find(start).unwrap() + start.len();
    let len = s[from..].find(end).unwrap();
    s[from..from + len].to_owned()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// The `Location` of a 303, parsed.
pub fn location(response: &TestResponse) -> Url {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    Url::parse(response.header("location").unwrap()).unwrap()
}

pub fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

pub fn fragment(url: &Url) -> HashMap<String, String> {
    url::form_urlencoded::parse(url.fragment().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Where a redirect goes, without its query or fragment.
pub fn base(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// Asserts an error page: HTML, `status`, and no redirect.
pub fn assert_error_page(response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status, status, "{}", response.text());
    assert!(response.header("location").is_none());
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
}

/// Asserts an error redirect to `redirect_uri` with `error`, a description, `state` and `iss`
/// in the query.
pub fn assert_error_redirect(response: &TestResponse, redirect_uri: &str, error: &str) {
    let url = location(response);
    assert_eq!(base(&url), redirect_uri);
    let params = query(&url);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some(error),
        "{url}"
    );
    assert!(
        params
            .get("error_description")
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER));
}

pub fn with<'a>(
    pairs: &[(&'a str, &'a str)],
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut pairs: Vec<_> = pairs.iter().filter(|(k, _)| *k != name).copied().collect();
    pairs.push((name, value));
    pairs
}

pub fn without<'a>(pairs: &[(&'a str, &'a str)], name: &str) -> Vec<(&'a str, &'a str)> {
    pairs.iter().filter(|(k, _)| *k != name).copied().collect()
}
