//! CORS (README, "Endpoints"): JWKS, discovery and `/userinfo` for any origin; `/token`,
//! `/revoke` and `/par` only for the origins of registered redirect URIs, and nothing at all
//! for other origins.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
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

/// CORS for the routes of `paths` (`/token`, `/revoke`): the registered origins, shared by
/// every route and request. A layer around every route that lets the others pass, rather than
/// a layer of their own, which the router would box around each of them and clone for every
/// request; and a service of its own rather than `from_fn` middleware, which clones the inner
/// service and boxes a future for every request.
#[derive(Clone)]
pub struct RegisteredOrigins {
    origins: Arc<HashSet<String>>,
    paths: Arc<[&'static str]>,
}

impl RegisteredOrigins {
    pub fn new(origins: HashSet<String>, paths: Arc<[&'static str]>) -> Self {
        RegisteredOrigins {
            origins: Arc::new(origins),
            paths,
        }
    }
}

impl<S> tower::Layer<S> for RegisteredOrigins {
    type Service = RegisteredOriginsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RegisteredOriginsService {
            inner,
            origins: self.origins.clone(),
            paths: self.paths.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RegisteredOriginsService<S> {
    inner: S,
    origins: Arc<HashSet<String>>,
    paths: Arc<[&'static str]>,
}

impl<S> tower::Service<Request> for RegisteredOriginsService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RegisteredOriginsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    /// A request to one of the paths from a registered origin is answered with its CORS
    /// headers, a preflight here; any other request passes through untouched.
    fn call(&mut self, request: Request) -> Self::Future {
        let ours = request
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|path| self.paths.contains(&path.as_str()));
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .filter(|o| ours && o.to_str().is_ok_and(|o| self.origins.contains(o)))
            .cloned();
        match origin {
            Some(origin) if request.method() == Method::OPTIONS => {
                RegisteredOriginsFuture::Preflight(Some(with_origin(preflight("POST"), origin)))
            }
            origin => RegisteredOriginsFuture::Inner(self.inner.call(request), origin),
        }
    }
}

pub enum RegisteredOriginsFuture<F> {
    /// The route's response, and the registered origin it goes to, if any.
    Inner(F, Option<HeaderValue>),
    /// A preflight answered here, until it is taken.
    Preflight(Option<Response>),
}

impl<F> Future for RegisteredOriginsFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            RegisteredOriginsFuture::Inner(inner, origin) => match Pin::new(inner).poll(cx) {
                Poll::Ready(Ok(response)) => Poll::Ready(Ok(match origin.take() {
                    Some(origin) => with_origin(response, origin),
                    None => response,
                })),
                Poll::Pending => Poll::Pending,
            },
            RegisteredOriginsFuture::Preflight(response) => {
                Poll::Ready(Ok(response.take().unwrap_or_default()))
            }
        }
    }
}

/// `response`, allowed to `origin` (which it varies by).
fn with_origin(mut response: Response, origin: HeaderValue) -> Response {
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
