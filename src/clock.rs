//! The only place that reads the system time; everything else gets `now` passed in.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds since the Unix epoch, the unit of every `iat`, `exp` and TTL in the service.
pub type UnixTime = u64;
/// Milliseconds since the Unix epoch, for waits that must not lose a fraction of a second
/// (login throttling).
pub type UnixMillis = u64;

/// Where "now" comes from: the system clock in production, a hand-set clock in tests.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// A clock that only moves when told to (tests of expiry and TTLs); milliseconds.
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// A manual clock starting at `start`.
    pub fn manual(start: UnixTime) -> Self {
        Clock::Manual(Arc::new(AtomicU64::new(start.saturating_mul(1000))))
    }

    /// The current time; read once per request and passed down.
    pub fn now(&self) -> UnixTime {
        self.now_millis() / 1000
    }

    /// The current time in milliseconds.
    pub fn now_millis(&self) -> UnixMillis {
        match self {
            #[allow(clippy::disallowed_methods)]
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; a no-op on the system clock.
    pub fn advance(&self, seconds: u64) {
        self.advance_millis(seconds.saturating_mul(1000));
    }

    /// Moves a manual clock forward by `millis`; a no-op on the system clock.
    pub fn advance_millis(&self, millis: u64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(millis, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn a_manual_clock_moves_only_when_told_in_seconds_or_milliseconds() {
        let clock = Clock::manual(100);
        assert_eq!((clock.now(), clock.now_millis()), (100, 100_000));
        clock.advance_millis(1_999);
        assert_eq!((clock.now(), clock.now_millis()), (101, 101_999));
        clock.advance(1);
        assert_eq!(clock.now(), 102);
    }
}
