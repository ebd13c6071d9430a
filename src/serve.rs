//! The accept loop: HTTP/1.1 connections that slow or idle clients cannot hold (docs/design.md,
//! "Load, faults and bad input"), a cap on open connections, and a shutdown with a deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::state::AppState;

mod parse_errors;

/// How long a client may keep a connection without sending a request, how many connections
/// may be open, and how long shutdown may take.
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    /// Time a client has to send a request's complete headers, counted from the moment the
    /// connection waits for them: from accept, and again after each response. A client
    /// trickling one header line at a time is cut off all the same. Because the wait after a
    /// response counts, this is also the idle keep-alive timeout.
    pub header_read_timeout: Duration,
    /// Open connections at most. Beyond it new connections wait in the kernel's accept
    /// backlog until one closes.
    pub max_connections: usize,
    /// After the shutdown signal, the time in-flight requests get to finish before every
    /// connection still open is closed. Kubernetes sends SIGKILL 30 s after the preStop hook
    /// starts (`k8s/base/deployment.yaml`: a 5 s pause), so this stays well below 25 s.
    pub shutdown_deadline: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_read_timeout: Duration::from_secs(5),
            max_connections: default_max_connections(),
            shutdown_deadline: Duration::from_secs(20),
        }
    }
}

/// 4096, or fewer when the file-descriptor limit is lower: client sockets must not take the
/// descriptors the store's connections need.
fn default_max_connections() -> usize {
    const CAP: u64 = 4096;
    /// Descriptors left for everything but client connections: the store, the runtime, stdio.
    const RESERVED: u64 = 128;
    let cap = open_files_limit().map_or(CAP, |limit| {
        limit.saturating_sub(RESERVED).clamp(RESERVED, CAP)
    });
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(unix)]
fn open_files_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_files_limit() -> Option<u64> {
    None
}

/// Warnings that the cap is reached, at most one a minute: under a flood every accept hits it.
const CAP_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Serves `state` on `listener` until `shutdown` resolves; then stops accepting, lets
/// in-flight requests finish for up to `limits.shutdown_deadline` (idle connections close at
/// once), and closes every connection still open.
pub async fn serve(
    mut listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ServeLimits,
) {
    let service = TowerToHyperService::new(crate::http::router(state.clone()));
    let mut http = http1::Builder::new();
    // Coarse: tokio's timers would make every worker's park arm a timeout (`timer`).
    http.timer(crate::timer::CoarseTimer)
        .header_read_timeout(limits.header_read_timeout);
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let mut slots = Slots {
        permits: Arc::new(Semaphore::new(max)),
        max,
        last_warning: None,
    };
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, permit) = tokio::select! {
            () = &mut shutdown => break,
            accepted = slots.accept(&mut listener, &state) => match accepted {
                Some(accepted) => accepted,
                None => break,
            },
        };
        let open = Open::new(permit, state.metrics.open_connections());
        let connection = graceful.watch(http.serve_connection(
            TokioIo::new(parse_errors::JsonParseErrors::new(stream)),
            service.clone(),
        ));
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(open);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = state.metrics.open_connections().get(),
            deadline_s = limits.shutdown_deadline.as_secs_f64(),
            "shutdown deadline reached: closing the connections still open"
        );
    }
    connections.shutdown().await;
}

/// The cap on open connections: one semaphore permit per connection.
struct Slots {
    permits: Arc<Semaphore>,
    max: usize,
    last_warning: Option<Instant>,
}

impl Slots {
    /// The next connection, once a slot is free. Until then new connections wait in the
    /// kernel's accept backlog, where the kernel, not this process, refuses the overflow.
    async fn accept(
        &mut self,
        listener: &mut TcpListener,
        state: &AppState,
    ) -> Option<(TcpStream, OwnedSemaphorePermit)> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                state.metrics.connection_cap_reached();
                self.warn();
                self.permits.clone().acquire_owned().await.ok()?
            }
        };
        // Retries accept errors (EMFILE: a second's pause) and logs them.
        let (stream, _) = axum::serve::Listener::accept(listener).await;
        Some((stream, permit))
    }

    fn warn(&mut self) {
        if self
            .last_warning
            .is_some_and(|last| last.elapsed() < CAP_WARNING_INTERVAL)
        {
            return;
        }
        self.last_warning = Some(Instant::now());
        tracing::warn!(
            max_connections = self.max,
            "open connections at the cap: new connections wait in the accept backlog"
        );
    }
}

/// An open connection: its slot and its count in the `open_connections` gauge, released
/// however the connection ends (closed, failed, or aborted at the shutdown deadline).
struct Open {
    _permit: OwnedSemaphorePermit,
    gauge: Gauge,
}

impl Open {
    fn new(permit: OwnedSemaphorePermit, gauge: Gauge) -> Self {
        gauge.inc();
        Open {
            _permit: permit,
            gauge,
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
