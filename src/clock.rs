//! The only place that reads the system time; everything else gets `now` passed in.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds since the Unix epoch, the unit of every `iat`, `exp` and TTL in the service.
pub type UnixTime = u64;

/// Where "now" comes from: the system clock in production, a hand-set clock in tests.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// A clock that only moves when told to (tests of expiry and TTLs).
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// A manual clock starting at `start`.
    pub fn manual(start: UnixTime) -> Self {
        Clock::Manual(Arc::new(AtomicU64::new(start)))
    }

    /// The current time; read once per request and passed down.
    pub fn now(&self) -> UnixTime {
        match self {
            #[allow(clippy::disallowed_methods)]
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; a no-op on the system clock.
    pub fn advance(&self, seconds: u64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}
