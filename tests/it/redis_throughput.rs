//! A measurement, not a test (performance is never asserted): sequential refresh-token
//! rotations per second through the store API, memory against a private redis-server.
//! Run with `cargo test --test it redis_throughput -- --ignored --nocapture`.

use std::time::Instant;

use token_service::scope::Scope;
use token_service::store::memory::MemoryStore;
use token_service::store::redis::{RedisStore, Topology};
use token_service::store::{Grant, Hashed, RefreshPolicy, RefreshToken, Rotate, Rotation, Store};

use crate::common::real_now;
use crate::common::redis::{RedisServer, unique_prefix};

const ROTATIONS: u32 = 2000;

async fn rotations_per_second(store: &Store) -> f64 {
    let now = real_now();
    let policy = RefreshPolicy {
        ttl: 3600,
        reuse_grace: 0,
    };
    let grant = Grant {
        client_id: "client".into(),
        username: Some("jsmith".into()),
        scope: Scope::parse("read write").unwrap(),
        auth_time: Some(now),
    };
    let tokens: Vec<RefreshToken> = (0..=ROTATIONS)
        .map(|n| RefreshToken {
            family: "fam".into(),
            secret: Hashed::of(&format!("token-{n}")),
        })
        .collect();
    assert!(
        store
            .create_family(&tokens[0], &grant, now, policy)
            .await
            .unwrap()
    );
    let started = Instant::now();
    for pair in tokens.windows(2) {
        let rotate = Rotate {
            old: &pair[0],
            new: &pair[1].secret,
            client_id: "client",
            scope: None,
            now,
        };
        let rotated = store.rotate_refresh(&rotate, policy).await.unwrap();
        assert!(matches!(rotated, Rotation::Rotated(_)));
    }
    f64::from(ROTATIONS) / started.elapsed().as_secs_f64()
}

#[tokio::test]
#[ignore = "a measurement; run it by name with --ignored --nocapture"]
async fn sequential_rotations_per_second_memory_and_redis() {
    let redis = RedisServer::start();
    let memory = rotations_per_second(&Store::Memory(MemoryStore::new())).await;
    let on_redis = Store::Redis(
        RedisStore::new(&Topology::Single(redis.url()), &unique_prefix("bench"), 0).unwrap(),
    );
    let redis_rate = rotations_per_second(&on_redis).await;
    println!(
        "{ROTATIONS} sequential rotations: memory {memory:.0}/s, redis {redis_rate:.0}/s (memory is {:.0}x)",
        memory / redis_rate
    );
}
