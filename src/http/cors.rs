//! CORS (README, "Endpoints"): JWKS, discovery and `/userinfo` for any origin; `/token`,
//! `/revoke` and `/par` only for the origins of registered redirect URIs, and nothing at all
//! for other origins.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// The response headers a browser app may read besides the safelisted ones: the DPoP nonce
/// for its next proof (RFC 9449 §8) and the challenge of a refused request.
const EXPOSED: HeaderValue = HeaderValue::from_static("dpop-nonce, www-authenticate");

pub async fn any_origin(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
    response
}

/// A preflight for an endpoint any origin may call with a Bearer token (`/userinfo`).
pub async fn any_origin_preflight() -> Response {
    preflight("GET, POST")
}

/// A 204 answering a CORS preflight for `methods`, with `Authorization`, `Content-Type` and
/// `DPoP` (RFC 9449 §4.1).
fn preflight(methods: &'static str) -> Response {
    let mut preflight = Response::new(Body::empty());
    *preflight.status_mut() = StatusCode::NO_CONTENT;
    let headers = preflight.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, dpop"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    preflight
}

/// A preflight the CORS layer did not answer (no origin, or one not registered): refused
/// like any other method, without CORS headers, and with the `Allow` every 405 carries (RFC
/// 9110 §15.5.6). Routed so that the layer sees every `OPTIONS`, which an unrouted method
/// would bypass.
pub async fn unanswered_preflight() -> impl axum::response::IntoResponse {
    (
        [(header::ALLOW, HeaderValue::from_static("POST,OPTIONS"))],
        crate::error::OAuthError::MethodNotAllowed,
    )
}

/// The registered origins are shared, not copied: axum clones a layer's state for every
/// request it sees.
pub async fn registered_origins(
    State(origins): State<Arc<HashSet<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .filter(|o| o.to_str().is_ok_and(|o| origins.contains(o)))
        .cloned();
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let mut response = if request.method() == Method::OPTIONS {
        preflight("POST")
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn a_preflight_allows_the_methods_authorization_content_type_and_dpop_for_ten_minutes() {
        let response = preflight("POST");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let headers = response.headers();
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_METHODS], "POST");
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "authorization, content-type, dpop"
        );
        assert_eq!(headers[header::ACCESS_CONTROL_MAX_AGE], "600");
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[tokio::test]
    async fn an_unanswered_preflight_is_a_405_with_allow_and_no_cors_headers() {
        let response = unanswered_preflight().await.into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "POST,OPTIONS");
        assert!(
            response
                .headers()
                .keys()
                .all(|k| !k.as_str().starts_with("access-control-"))
        );
    }
}
