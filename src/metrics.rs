//! Prometheus metrics (`GET /metrics`, text format): requests by route and status, latency,
//! tokens issued by grant, OAuth errors by code, refresh-token reuse and login throttling, open
//! connections and the times their cap was reached, and when the signing key was made.

use std::hash::{Hash, Hasher};
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use axum::extract::MatchedPath;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::records::GrantType;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route template (`/token`), never the raw path: bounded cardinality.
    route: Route,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Route,
}

/// A request's route label: the template the router matched (shared with the request, so
/// counting a request allocates nothing), or `other` for unmatched paths.
#[derive(Clone, Debug)]
pub struct Route(Option<MatchedPath>);

impl Route {
    pub fn of(matched: Option<&MatchedPath>) -> Self {
        Route(matched.cloned())
    }

    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("other", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    kid: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    tokens_issued: Family<GrantLabels, Counter>,
    /// The `tokens_issued` series of each grant (in `GrantType::ALL`'s order) once it has
    /// counted a token, so that a token is counted without the family's lock and hash.
    issued: [OnceLock<Counter>; GrantType::ALL.len()],
    oauth_errors: Family<ErrorLabels, Counter>,
    refresh_reuse: Counter,
    login_throttled: Counter,
    argon2_verifications: Counter,
    open_connections: Gauge,
    connection_cap_reached: Counter,
    signing_key_created: Family<KeyLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("token_service");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let tokens_issued = Family::<GrantLabels, Counter>::default();
        let oauth_errors = Family::<ErrorLabels, Counter>::default();
        let refresh_reuse = Counter::default();
        let login_throttled = Counter::default();
        let argon2_verifications = Counter::default();
        let open_connections = Gauge::default();
        let connection_cap_reached = Counter::default();
        let signing_key_created = Family::<KeyLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "tokens_issued",
            "Token responses by grant type",
            tokens_issued.clone(),
        );
        registry.register(
            "oauth_errors",
            "OAuth error responses by error code",
            oauth_errors.clone(),
        );
        registry.register(
            "refresh_token_reuse",
            "Reused refresh tokens and replayed codes (families revoked)",
            refresh_reuse.clone(),
        );
        registry.register(
            "login_throttled",
            "Login attempts refused by failed-login throttling",
            login_throttled.clone(),
        );
        registry.register(
            "argon2_verifications",
            "argon2id verifications of passwords and client secrets",
            argon2_verifications.clone(),
        );
        registry.register(
            "open_connections",
            "Client connections open now",
            open_connections.clone(),
        );
        registry.register(
            "connection_cap_reached",
            "Times every connection slot was taken (new connections wait in the accept backlog until one frees)",
            connection_cap_reached.clone(),
        );
        registry.register(
            "signing_key_created_seconds",
            "When the signing key was made (Unix time, from its file name or else its modification time), by kid",
            signing_key_created.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            tokens_issued,
            issued: Default::default(),
            oauth_errors,
            refresh_reuse,
            login_throttled,
            argon2_verifications,
            open_connections,
            connection_cap_reached,
            signing_key_created,
        }
    }
}

/// The series one endpoint's requests were counted in, kept once looked up: a lookup in a
/// family hashes the labels under the family's lock on every request. At most `ROUTE_SERIES`
/// (method, route, status) sets are kept; others are looked up each time.
#[derive(Default)]
pub struct RouteSeries(RwLock<Vec<KnownSeries>>);

const ROUTE_SERIES: usize = 16;

struct KnownSeries {
    method: &'static str,
    route: Route,
    status: u16,
    requests: Counter,
    latency: Histogram,
}

impl Metrics {
    /// [`Metrics::request`] through the series `known` keeps.
    pub fn request_in(
        &self,
        known: &RouteSeries,
        method: &'static str,
        route: Route,
        status: u16,
        latency: Duration,
    ) {
        let seconds = latency.as_secs_f64();
        let is = |s: &&KnownSeries| s.method == method && s.status == status && s.route == route;
        if let Ok(series) = known.0.read()
            && let Some(series) = series.iter().find(is)
        {
            series.requests.inc();
            series.latency.observe(seconds);
            return;
        }
        let series = KnownSeries {
            requests: self
                .requests
                .get_or_create(&RequestLabels {
                    method,
                    route: route.clone(),
                    status,
                })
                .clone(),
            latency: self
                .latency
                .get_or_create(&RouteLabels {
                    route: route.clone(),
                })
                .clone(),
            method,
            route,
            status,
        };
        series.requests.inc();
        series.latency.observe(seconds);
        let same = |s: &KnownSeries| {
            s.method == series.method && s.status == series.status && s.route == series.route
        };
        if let Ok(mut kept) = known.0.write()
            && kept.len() < ROUTE_SERIES
            && !kept.iter().any(same)
        {
            kept.push(series);
        }
    }

    pub fn request(&self, method: &'static str, route: Route, status: u16, latency: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(latency.as_secs_f64());
    }

    pub fn token_issued(&self, grant: GrantType) {
        let family = || {
            self.tokens_issued
                .get_or_create(&GrantLabels {
                    grant_type: grant.as_str(),
                })
                .clone()
        };
        let at = GrantType::ALL.iter().position(|g| *g == grant);
        match at.and_then(|at| self.issued.get(at)) {
            Some(series) => series.get_or_init(family).inc(),
            None => family().inc(),
        };
    }

    pub fn oauth_error(&self, error: &'static str) {
        self.oauth_errors
            .get_or_create(&ErrorLabels { error })
            .inc();
    }

    pub fn refresh_reuse(&self) {
        self.refresh_reuse.inc();
    }

    /// The counter the argon2 pool increments for each verification it runs.
    pub fn argon2_counter(&self) -> Counter {
        self.argon2_verifications.clone()
    }

    pub fn login_throttled(&self) {
        self.login_throttled.inc();
    }

    /// The gauge the server raises for each connection it accepts and lowers when it closes.
    pub fn open_connections(&self) -> Gauge {
        self.open_connections.clone()
    }

    pub fn connection_cap_reached(&self) {
        self.connection_cap_reached.inc();
    }

    /// Records when the key that signs (`kid`) was made, in seconds since the Unix epoch
    /// (docs/runbook.md, "Signing key old").
    pub fn signing_key_created(&self, kid: &str, created: u64) {
        self.signing_key_created
            .get_or_create(&KeyLabels {
                kid: kid.to_owned(),
            })
            .set(i64::try_from(created).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
