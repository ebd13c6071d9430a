//! Every bound of the Redis backend, in one place, with the order they must keep checked when
//! the crate compiles. The timeline of one store operation, from the request's side:
//!
//! ```text
//! 0 ms      connect (only when no connection is open), at most CONNECT_TIMEOUT  (500)
//!           the command; with TS_REDIS_WAIT_REPLICAS, `WAIT n WAIT_MILLIS` (300) in the same
//!           round trip, twice if Redis lacked the script (NOSCRIPT, then load and retry)
//! 900 ms    OPERATION_TIMEOUT: no answer yet, the request answers 503
//! 900 ms    (after an unacknowledged code redemption) its undo, at most UNDO_TIMEOUT  (900)
//! < 2 s     the client has its answer, whatever Redis does (README, "When Redis is down")
//! ```
//!
//! Nothing here enters a decision: a write that runs after its request gave up is decided
//! like any other (docs/design.md, "Rotation").

use std::time::Duration;

/// Opening a connection (docs/design.md, "Load, faults and bad input": 503 within 1 s when
/// Redis refuses connections).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// For the cluster client only. One server and a Sentinel-found primary get no response
/// timeout of the redis crate: every operation is bounded by `Connection::run_within` already,
/// and the crate's timeout would arm a second timer for each request.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(800);
/// How long a write waits for its replicas (`WAIT n 300`).
pub const WAIT_MILLIS: u64 = 300;
/// After a write its replicas did not acknowledge, how long writes that must wait for them
/// answer 503 without reaching Redis. `WAIT` holds the connection it is sent on, so writes sent
/// meanwhile would queue behind one another, 300 ms each, and time out.
pub const REPLICAS_MISSING: Duration = Duration::from_millis(250);
/// Every store operation answers within this (503 within 2 s when Redis hangs).
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(900);
/// How long the undo of a code redemption its replicas did not acknowledge may take.
pub const UNDO_TIMEOUT: Duration = Duration::from_millis(900);
/// `/readyz` answers well within a probe's usual 1 s timeout even with Redis hung.
pub const HEALTH_TIMEOUT: Duration = Duration::from_millis(300);
/// How often a Redis that may evict keys, or whose replicas are not the number every write
/// waits for, is warned about.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(600);

const fn ms(duration: Duration) -> u128 {
    duration.as_millis()
}

// A refused connection is told within 1 s; an operation, even waiting twice for replicas,
// within its bound; an operation and the undo after it within 2 s; the health check within
// a probe's 1 s.
const _: () = assert!(ms(CONNECT_TIMEOUT) < 1_000);
const _: () = assert!(ms(CONNECT_TIMEOUT) < ms(OPERATION_TIMEOUT));
const _: () = assert!(2 * WAIT_MILLIS as u128 <= ms(OPERATION_TIMEOUT));
const _: () = assert!(ms(RESPONSE_TIMEOUT) <= ms(OPERATION_TIMEOUT));
const _: () = assert!(ms(OPERATION_TIMEOUT) + ms(UNDO_TIMEOUT) < 2_000);
const _: () = assert!(ms(HEALTH_TIMEOUT) < 1_000);
