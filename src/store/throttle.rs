//! Failed-login throttling (docs/design.md, "Load, faults and bad input"): what an attempt is
//! told, and the waits, the same for every backend.

/// How long a username must wait before its next login attempt, in milliseconds.
pub type WaitMillis = u64;

/// The answer to "may this username try a password now?" (docs/design.md, "Load, faults and bad
/// input").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Reserved: one attempt is in flight until `login_failed`, `login_succeeded` or
    /// `login_released` settles it (or `RESERVATION_MILLIS` pass).
    Reserved,
    /// Throttled by failures: no attempt before the wait is over.
    Throttled(WaitMillis),
    /// As many attempts in flight as failures may still happen: one may start once one of
    /// them settles.
    Busy,
}

/// Failed-login throttling (docs/design.md, "Load, faults and bad input"): waits double from 1 s up
/// to 5 minutes.
pub const THROTTLE_MAX_WAIT: u64 = 300;
/// A failure count is forgotten after this long without failures (seconds).
pub const THROTTLE_WINDOW: u64 = 900;
/// A reservation left unsettled (a process that died mid-attempt) lapses after this long:
/// longer than an attempt's queueing and argon2 time.
pub const RESERVATION_MILLIS: u64 = 10_000;
/// What an attempt that found others in flight for longer than it may wait for them is told
/// to wait.
pub const IN_FLIGHT_WAIT_MILLIS: u64 = 1_000;

/// How many attempts may run at once: the failures left before the limit, or one at a time
/// once it was reached (each further failure doubles the wait).
pub fn attempts_allowed(failures: u64, max_failures: u64) -> u64 {
    max_failures.saturating_sub(failures).max(1)
}

/// The wait after the `failures`-th consecutive failure, or 0 while under the limit.
pub fn throttle_wait(failures: u64, max_failures: u64) -> u64 {
    if failures < max_failures {
        return 0;
    }
    let doublings = (failures - max_failures).min(16);
    (1u64 << doublings).min(THROTTLE_MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::{THROTTLE_MAX_WAIT, attempts_allowed, throttle_wait};

    #[test]
    fn there_is_no_wait_below_the_limit() {
        assert_eq!(throttle_wait(0, 5), 0);
        assert_eq!(throttle_wait(4, 5), 0);
    }

    #[test]
    fn the_wait_doubles_from_one_second_at_the_limit() {
        let waits: Vec<u64> = (5..10).map(|n| throttle_wait(n, 5)).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
    }

    #[test]
    fn attempts_in_flight_are_bounded_by_the_failures_left() {
        assert_eq!(attempts_allowed(0, 5), 5);
        assert_eq!(attempts_allowed(3, 5), 2);
        assert_eq!(attempts_allowed(5, 5), 1);
        assert_eq!(attempts_allowed(9, 5), 1);
    }

    #[test]
    fn the_wait_stops_at_five_minutes_however_many_failures() {
        assert_eq!(throttle_wait(14, 5), 300);
        assert_eq!(throttle_wait(u64::MAX, 5), THROTTLE_MAX_WAIT);
    }
}
