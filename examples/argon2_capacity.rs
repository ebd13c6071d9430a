//! The argon2 pool's capacity: password verifications per second that its worker threads
//! reach alone, kept busy by `CONCURRENCY` callers, with no HTTP in front. `bench/run.sh`
//! runs it pinned to the core the server gets, so its figure is the ceiling of the password
//! grant there.
//!
//!   cargo run --release --example argon2_capacity -- [seconds] [concurrency]

// A benchmark fails by panicking, like a test.
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use token_service::password::Argon2Pool;

/// jsmith's hash in config/dev.toml (password `password123`): the users' parameters.
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$MJRVyJDi57WCaFh+sZnoOQ$GkwXhXTTX9QUugY/d/W6I+51v5SBQl0S289mGC5GFNM";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().map_or(10.0, |s| s.parse().expect("seconds"));
    let concurrency: usize = args.next().map_or(8, |s| s.parse().expect("concurrency"));
    let counter = Counter::default();
    let pool = Arc::new(Argon2Pool::new(Some(HASH), counter.clone()).expect("the pool"));
    // One verification first, so each worker's memory block exists as in a warm server.
    assert!(
        pool.verify_password(Some(HASH), "password123")
            .await
            .expect("verify")
    );
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < until {
                let ok = pool
                    .verify_password(Some(HASH), "password123")
                    .await
                    .expect("verify");
                assert!(ok);
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "workers={} verifications={} seconds={:.2} per_second={:.2}",
        pool.workers(),
        total,
        elapsed,
        total as f64 / elapsed
    );
}
