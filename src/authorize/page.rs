//! The HTML pages (askama templates in `templates/`, escaped by default) and the security
//! headers every one of them carries.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// No script, no framing, no external anything (RFC 7034, CSP Level 3). No `form-action`:
/// Chrome applies it to the redirect that follows the form's POST.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                   frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub client_name: &'a str,
    /// The authorization request, carried through the POST.
    pub hidden: &'a [(&'static str, String)],
    pub csrf_token: &'a str,
    /// Prefilled after a failed attempt.
    pub username: &'a str,
    pub message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub is_error: bool,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub csrf_token: &'a str,
    /// The client that asked to get the user back (RP-Initiated Logout).
    pub client_name: Option<&'a str>,
    /// The validated way back, carried through the POST.
    pub hidden: &'a [(&'static str, String)],
}

#[derive(Template)]
#[template(path = "demo.html")]
pub struct DemoPage<'a> {
    pub code: Option<&'a str>,
    pub curl: Option<String>,
    pub code_ttl: u64,
    pub state: Option<&'a str>,
    pub iss: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
    /// Back from RP-initiated logout: `state` alone, none of an authorization response's
    /// parameters (which always include `iss`).
    pub signed_out: bool,
}

/// Renders `page` with `status` and the security headers.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    let body = match page.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            return with_security_headers(
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
            );
        }
    };
    let response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    with_security_headers(response)
}

/// A page with a title and one paragraph; an error when `status` is one.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let page = MessagePage {
        title,
        text,
        is_error: status.is_client_error() || status.is_server_error(),
    };
    html(status, &page)
}

fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
