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

/// The system time in seconds and microseconds since the Unix epoch, for log lines: they say
/// when they were written, whatever clock the requests are given. `None` before the epoch.
pub fn log_time() -> Option<(u64, u32)> {
    #[allow(clippy::disallowed_methods)]
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some((since.as_secs(), since.subsec_micros()))
}

/// The (year, month, day) of the day `days` after 1970-01-01, in the proleptic Gregorian
/// calendar (H. Hinnant's `civil_from_days`, for days on or after the epoch).
pub fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{Clock, civil_date};

    #[test]
    fn days_since_the_epoch_are_gregorian_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(11_017), (2000, 3, 1));
        assert_eq!(civil_date(20_818), (2026, 12, 31));
        assert_eq!(civil_date(20_819), (2027, 1, 1));
        assert_eq!(civil_date(2_932_896), (9999, 12, 31));
    }

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
