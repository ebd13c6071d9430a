//! A request's fields in its log lines, kept beside the request instead of in a tracing span
//! (docs/design.md, "Log lines"). With JSON lines and no traces exported, nothing but the
//! log reads a request's span, and the span costs a request more than its line: a slot in
//! tracing's span registry, the filter's locks, shared by every thread, taken as the span is
//! made, entered, left and closed, and every field recorded through each layer. So the
//! request's fields live in its future, are made current on the thread that polls it for as
//! long as it polls, and the line format writes them as it writes a span's: the same `span`
//! member, the same text. With traces exported, or the pretty format, a request keeps its span.

use std::cell::RefCell;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::Method;
use tracing::Span;

/// The name the line gives the request's fields, as it gives a span's name.
const NAME: &str = "request";

/// The end of the `span` member: its name (plain, as `NAME` is).
const NAME_MEMBER: &str = ",\"name\":\"request\"}";

/// A request's span, for the exported trace or the pretty format: the fields of
/// [`RequestFields`], under the target of the request's other lines.
pub fn request_span(method: &str, path: &str) -> Span {
    tracing::info_span!(
        target: "token_service::http",
        NAME,
        method,
        path,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
        client_id = tracing::field::Empty,
    )
}

/// Where a request's fields are kept while it runs.
#[derive(Clone, Debug)]
pub enum RequestScope {
    /// A tracing span, for the exported trace or the pretty format.
    Span(Span),
    /// The fields alone, for JSON lines.
    Fields(RequestFields),
}

impl RequestScope {
    /// Runs `f` inside the request: its log lines carry the request's fields.
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        match self {
            RequestScope::Span(span) => span.in_scope(f),
            RequestScope::Fields(fields) => fields.in_scope(f),
        }
    }

    /// Records the response's status and the request's latency, in one record.
    pub fn record_response(&mut self, status: u16, latency: Duration) {
        let latency_ms = latency.as_secs_f64() * 1000.0;
        match self {
            // In one record: each is a trip through every layer of the subscriber.
            RequestScope::Span(span) => {
                tracing::record_all!(span, status = status, latency_ms = latency_ms);
            }
            RequestScope::Fields(fields) => {
                fields.status = Some(status);
                fields.latency_ms = Some(latency_ms);
            }
        }
    }
}

/// What a request's span holds: method and route (never the query, which can carry codes)
/// from the start; the client, status and latency once known.
#[derive(Clone, Debug, Default)]
pub struct RequestFields {
    method: Method,
    path: RoutePath,
    client_id: Option<String>,
    status: Option<u16>,
    latency_ms: Option<f64>,
}

/// A request's route: the router's pattern it matched (shared with the router, not copied),
/// or the path of one that matched none.
#[derive(Clone, Debug)]
pub enum RoutePath {
    Matched(MatchedPath),
    Unmatched(String),
}

impl RoutePath {
    pub fn as_str(&self) -> &str {
        match self {
            RoutePath::Matched(matched) => matched.as_str(),
            RoutePath::Unmatched(path) => path,
        }
    }
}

impl Default for RoutePath {
    fn default() -> Self {
        RoutePath::Unmatched(String::new())
    }
}

impl From<&str> for RoutePath {
    fn from(path: &str) -> Self {
        RoutePath::Unmatched(path.to_owned())
    }
}

thread_local! {
    /// The fields of the request this thread polls, while it polls it.
    static CURRENT: RefCell<Option<RequestFields>> = const { RefCell::new(None) };
}

impl RequestFields {
    pub fn new(method: Method, path: RoutePath) -> Self {
        RequestFields {
            method,
            path,
            ..RequestFields::default()
        }
    }

    /// Runs `f` with these fields current on this thread. They move there and back: a
    /// request is polled on one thread at a time, but not always on the same one. They come
    /// back even if `f` panics, so no line outside the request is logged with them.
    fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let outer = CURRENT.replace(Some(std::mem::take(self)));
        let _back = Back {
            fields: self,
            outer,
        };
        f()
    }

    /// Writes the fields as the members of a JSON object, sorted by name, as the line writes
    /// a span's; a field not known yet is left out, as a span's empty field is. The names
    /// are plain, so they are written as they are; `method` is always there, so the members
    /// before it end with a comma and those after it start with one.
    fn push_members(&self, out: &mut String) {
        if let Some(client_id) = &self.client_id {
            out.push_str("\"client_id\":");
            super::push_json_str(out, client_id);
            out.push(',');
        }
        if let Some(latency_ms) = self.latency_ms {
            out.push_str("\"latency_ms\":");
            super::push_float(out, latency_ms);
            out.push(',');
        }
        out.push_str("\"method\":");
        super::push_json_str(out, self.method.as_str());
        out.push_str(",\"path\":");
        super::push_json_str(out, self.path.as_str());
        if let Some(status) = self.status {
            out.push_str(",\"status\":");
            super::push_integer(out, u64::from(status), false);
        }
    }
}

/// Puts a request's fields back in it, and what was current before back in place, when
/// dropped.
struct Back<'a> {
    fields: &'a mut RequestFields,
    outer: Option<RequestFields>,
}

impl Drop for Back<'_> {
    fn drop(&mut self) {
        *self.fields = CURRENT.replace(self.outer.take()).unwrap_or_default();
    }
}

/// Names the request's client in its fields, or in its span where it has one.
pub fn record_client_id(id: &str) {
    let recorded = CURRENT.with_borrow_mut(|current| match current {
        Some(fields) => {
            let client_id = fields.client_id.get_or_insert_default();
            client_id.clear();
            client_id.push_str(id);
            true
        }
        None => false,
    });
    if !recorded {
        Span::current().record("client_id", id);
    }
}

/// Writes the current request's fields as a line's `span` member (`,"span":{…}`); nothing
/// outside a request.
pub(super) fn push_current(out: &mut String) {
    CURRENT.with_borrow(|current| {
        if let Some(fields) = current {
            out.push_str(",\"span\":{");
            fields.push_members(out);
            out.push_str(NAME_MEMBER);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of a request whose fields `scope` makes (inside the capturing subscriber,
    /// where a span must be made): a line before its client is known, the response's after
    /// it, and one outside the request.
    fn lines_of(scope: fn() -> RequestScope) -> Vec<String> {
        crate::logging::captured(|| {
            let mut scope = scope();
            scope.in_scope(|| {
                tracing::info!("started");
                record_client_id("first \"client\"");
                record_client_id("reporting-service");
            });
            scope.record_response(401, Duration::from_micros(1_500));
            scope.in_scope(|| {
                let detail = "store: \"down\"";
                tracing::warn!(%detail, "response: unavailable");
            });
            tracing::info!("after");
        })
    }

    #[test]
    fn a_requests_fields_are_logged_as_its_span_s_fields_were() {
        let fields =
            lines_of(|| RequestScope::Fields(RequestFields::new(Method::POST, "/token".into())));
        let spans = lines_of(|| RequestScope::Span(request_span("POST", "/token")));
        assert_eq!(fields, spans);
        assert_eq!(fields.len(), 3, "{fields:#?}");
        assert!(
            fields[0].contains(r#""span":{"method":"POST","path":"/token","name":"request"}"#),
            "{fields:#?}"
        );
        assert!(
            fields[1].contains(
                r#""span":{"client_id":"reporting-service","latency_ms":1.5,"method":"POST","path":"/token","status":401,"name":"request"}"#
            ),
            "{fields:#?}"
        );
        assert!(!fields[2].contains("span"), "{fields:#?}");
    }

    #[test]
    fn the_fields_go_back_to_the_request_when_its_poll_ends() {
        let mut fields = RequestFields::new(Method::GET, "/userinfo".into());
        fields.in_scope(|| record_client_id("app"));
        assert_eq!(fields.client_id.as_deref(), Some("app"));
        assert_eq!(fields.path.as_str(), "/userinfo");
        assert!(CURRENT.with_borrow(Option::is_none));
        // Outside a request a client id is recorded nowhere, and nothing is left current.
        record_client_id("other");
        assert!(CURRENT.with_borrow(Option::is_none));
    }

    #[test]
    fn a_panic_inside_a_request_leaves_no_fields_current() {
        let mut fields = RequestFields::new(Method::POST, "/token".into());
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fields.in_scope(|| {
                record_client_id("app");
                std::panic::resume_unwind(Box::new("handler failed"));
            })
        }));
        assert!(unwound.is_err());
        assert!(CURRENT.with_borrow(Option::is_none));
        assert_eq!(fields.client_id.as_deref(), Some("app"));
    }

    #[test]
    fn a_request_polled_inside_another_leaves_the_outer_ones_fields_current() {
        let mut outer = RequestFields::new(Method::POST, "/token".into());
        let mut inner = RequestFields::new(Method::GET, "/jwks".into());
        outer.in_scope(|| {
            inner.in_scope(|| record_client_id("inner"));
            record_client_id("outer");
        });
        assert_eq!(outer.client_id.as_deref(), Some("outer"));
        assert_eq!(inner.client_id.as_deref(), Some("inner"));
    }
}
