//! Authorization responses: a 303 to the validated redirect_uri, with the parameters in the
//! query (`code`) or the fragment (`token`), always with `state` and `iss` (RFC 9207).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

/// Where the response parameters go (RFC 6749 §4.1.2, §4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
}

/// A validated place to send the user back to. Only built from a registered redirect_uri.
#[derive(Clone, Debug)]
pub struct Target {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
    pub issuer: String,
}

impl Target {
    /// The redirect carrying `params`, then `state` and `iss`.
    pub fn send(&self, params: &[(&str, &str)]) -> Response {
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if let Some(state) = &self.state {
            all.push(("state", state));
        }
        all.push(("iss", &self.issuer));
        let Some(location) = self.url(&all) else {
            tracing::error!("a registered redirect_uri does not parse");
            return super::page::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The sign-in service could not send you back to the application.",
            );
        };
        let mut response = StatusCode::SEE_OTHER.into_response();
        let headers = response.headers_mut();
        headers.insert(header::LOCATION, location);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        response
    }

    /// Appends to the query (keeping one the registered URI may have, RFC 6749 §3.1.2) or
    /// sets the fragment.
    fn url(&self, params: &[(&str, &str)]) -> Option<HeaderValue> {
        let mut url = Url::parse(&self.redirect_uri).ok()?;
        match self.mode {
            ResponseMode::Query => {
                url.query_pairs_mut().extend_pairs(params);
            }
            ResponseMode::Fragment => {
                let fragment = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(params)
                    .finish();
                url.set_fragment(Some(&fragment));
            }
        }
        HeaderValue::from_str(url.as_str()).ok()
    }
}
