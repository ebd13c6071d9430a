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

#[cfg(test)]
mod tests {
    use super::*;

    fn target(redirect_uri: &str, mode: ResponseMode, state: Option<&str>) -> Target {
        Target {
            redirect_uri: redirect_uri.into(),
            mode,
            state: state.map(str::to_owned),
            issuer: "https://auth.example".into(),
        }
    }

    fn location(response: &Response) -> &str {
        response.headers()[header::LOCATION].to_str().unwrap()
    }

    #[test]
    fn a_code_goes_in_the_query_after_the_registered_one_then_state_and_iss() {
        let response = target(
            "https://app.example/cb?tenant=a",
            ResponseMode::Query,
            Some("xyz"),
        )
        .send(&[("code", "c 1")]);
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(&response),
            "https://app.example/cb?tenant=a&code=c+1&state=xyz&iss=https%3A%2F%2Fauth.example"
        );
    }

    #[test]
    fn a_token_goes_in_the_fragment_and_the_query_stays_as_registered() {
        let response = target(
            "https://app.example/cb?tenant=a",
            ResponseMode::Fragment,
            None,
        )
        .send(&[("access_token", "t"), ("token_type", "Bearer")]);
        assert_eq!(
            location(&response),
            "https://app.example/cb?tenant=a#access_token=t&token_type=Bearer&iss=https%3A%2F%2Fauth.example"
        );
    }

    #[test]
    fn the_redirect_is_not_cached_and_sends_no_referrer() {
        let response = target("https://app.example/cb", ResponseMode::Query, None).send(&[]);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::REFERRER_POLICY], "no-referrer");
    }

    #[test]
    fn a_redirect_uri_that_does_not_parse_is_an_error_page_never_a_redirect() {
        let response = target("not a url", ResponseMode::Query, None).send(&[("code", "c")]);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(header::LOCATION).is_none());
    }
}
