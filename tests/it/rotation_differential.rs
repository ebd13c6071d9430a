//! The one rotation decision, three implementations: the memory store calls
//! `rotation::decide`, Redis and Redis Cluster run `lua/rotate.lua`. Random operation sequences,
//! lost writes included (an earlier record put back, as a failover without `WAIT` does), run
//! on all three must give the same outcome at every step.

use token_service::scope::Scope;
use token_service::store::{Grant, RefreshPolicy, Rotate, Store, TokenRef};

use crate::common::{Rng, real_now};
use crate::store_contract::Backend;

const SEQUENCES: usize = 1_000;
const STEPS: usize = 12;
const CLIENT: &str = "client-a";
const SEED: u64 = 0x5eed_0fd1;

/// One step of a sequence, drawn once and run on every backend.
#[derive(Clone, Debug)]
enum Op {
    /// Presents token `generation` of the chain (or, `impostor`, another value of that
    /// generation), as `client` or another, asking `scope`, `elapsed` seconds on.
    Present {
        generation: u32,
        impostor: bool,
        other_client: bool,
        scope: Option<&'static str>,
        elapsed: u64,
    },
    /// Puts back the record as it was before step `step` (a write lost by a failover).
    LoseWritesSince {
        step: usize,
    },
    Revoke {
        other_client: bool,
    },
    Introspect {
        generation: u32,
    },
}

fn draw(rng: &mut Rng) -> Vec<Op> {
    (0..STEPS)
        .map(|step| match rng.below(10) {
            0..=5 => Op::Present {
                generation: rng.below(5) as u32,
                impostor: rng.below(12) == 0,
                other_client: rng.below(15) == 0,
                scope: *rng.pick(&[None, None, None, Some("read"), Some("read admin")]),
                elapsed: *rng.pick(&[0, 0, 1, 2, 40]),
            },
            6 | 7 if step > 0 => Op::LoseWritesSince {
                step: rng.below(step),
            },
            8 => Op::Revoke {
                other_client: rng.below(2) == 0,
            },
            _ => Op::Introspect {
                generation: rng.below(5) as u32,
            },
        })
        .collect()
}

fn digest(generation: u32, impostor: bool) -> String {
    match impostor {
        false => format!("token-{generation}"),
        true => format!("impostor-{generation}"),
    }
}

/// Runs `ops` on a new family of `store` started at `start`; the outcome of each step.
async fn run(
    store: &Store,
    family: &str,
    ops: &[Op],
    policy: RefreshPolicy,
    start: u64,
) -> Vec<String> {
    let grant = Grant {
        client_id: CLIENT.into(),
        username: Some("jsmith".into()),
        scope: Scope::parse("read write").unwrap(),
        auth_time: Some(start),
        jkt: None,
    };
    let first = digest(0, false);
    let token = |generation, digest: &str| -> (u32, String) { (generation, digest.to_owned()) };
    let (generation, first) = token(0, &first);
    let first = TokenRef {
        family,
        generation,
        digest: &first,
    };
    assert!(
        store
            .create_family(first, &grant, start, policy)
            .await
            .unwrap()
    );
    let mut now = start;
    let mut records = Vec::new();
    let mut outcomes = Vec::new();
    for op in ops {
        records.push(store.family_snapshot(family).await.unwrap());
        let outcome = match op {
            Op::Present {
                generation,
                impostor,
                other_client,
                scope,
                elapsed,
            } => {
                now += elapsed;
                let presented = digest(*generation, *impostor);
                let successor = digest(generation + 1, false);
                let scope = scope.map(|s| Scope::parse(s).unwrap());
                let rotate = Rotate {
                    presented: TokenRef {
                        family,
                        generation: *generation,
                        digest: &presented,
                    },
                    successor: &successor,
                    client_id: if *other_client { "client-b" } else { CLIENT },
                    jkt: None,
                    scope: scope.as_ref(),
                    now,
                };
                format!("{:?}", store.rotate_refresh(&rotate, policy).await.unwrap())
            }
            Op::LoseWritesSince { step } => {
                let earlier = records[*step].clone();
                store
                    .restore_family(family, earlier.as_deref())
                    .await
                    .unwrap();
                "restored".into()
            }
            Op::Revoke { other_client } => {
                let client = if *other_client { "client-b" } else { CLIENT };
                let any = TokenRef {
                    family,
                    generation: 0,
                    digest: "any",
                };
                store.revoke_refresh(any, client).await.unwrap();
                "revoked?".into()
            }
            Op::Introspect { generation } => {
                let presented = digest(*generation, false);
                let token = TokenRef {
                    family,
                    generation: *generation,
                    digest: &presented,
                };
                let info = store.refresh_info(token, now).await.unwrap();
                format!("{:?}", info.map(|i| i.expires_at - start))
            }
        };
        outcomes.push(outcome);
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_redis_and_cluster_decide_every_random_sequence_alike() {
    let stores = [
        ("memory", Backend::Memory.store("differential")),
        ("redis", Backend::Redis.store("differential")),
        ("cluster", Backend::Cluster.store("differential")),
    ];
    let mut rng = Rng(SEED);
    let mut steps = 0;
    for sequence in 0..SEQUENCES {
        let ops = draw(&mut rng);
        let policy = RefreshPolicy {
            ttl: 3600,
            reuse_grace: *rng.pick(&[0, 0, 30]),
        };
        let family = format!("family-{sequence}");
        let start = real_now();
        let (name, reference) = &stores[0];
        let expected = run(reference, &family, &ops, policy, start).await;
        for (other, store) in &stores[1..] {
            let outcomes = run(store, &family, &ops, policy, start).await;
            assert_eq!(
                outcomes, expected,
                "sequence {sequence} ({policy:?}) on {other} against {name}: {ops:#?}"
            );
        }
        steps += ops.len();
    }
    println!("{SEQUENCES} sequences, {steps} steps on each of memory, redis and cluster");
}

#[test]
fn the_sequences_reach_every_outcome() {
    // A differential test whose sequences never revoked, repeated or rolled forward would
    // compare little: the draw covers each kind of step.
    let mut rng = Rng(SEED);
    let ops: Vec<Op> = (0..50).flat_map(|_| draw(&mut rng)).collect();
    let lost = ops
        .iter()
        .filter(|o| matches!(o, Op::LoseWritesSince { .. }))
        .count();
    let ahead = ops
        .iter()
        .filter(|o| {
            matches!(
                o,
                Op::Present {
                    generation: 3..,
                    ..
                }
            )
        })
        .count();
    let wide = ops
        .iter()
        .filter(|o| {
            matches!(
                o,
                Op::Present {
                    scope: Some("read admin"),
                    ..
                }
            )
        })
        .count();
    assert!(lost > 20 && ahead > 20 && wide > 5, "{lost} {ahead} {wide}");
}
