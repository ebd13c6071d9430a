//! The store's contract (README, "What is stored"; docs/design.md, "Load, faults and bad input"), one suite run against every backend: the in-memory
//! store, a private redis-server, and a local 3-master Redis Cluster. Each behaviour is one
//! async fn here and one named test per backend (`memory::…`, `redis::…`, `cluster::…`).

use std::sync::Arc;

use token_service::scope::Scope;
use token_service::store::memory::MemoryStore;
use token_service::store::redis::{RedisStore, Topology};
use token_service::store::{
    Attempt, CodeRecord, CodeRedemption, Grant, Hashed, OnceKind, PushedRequest, RefreshInfo,
    RefreshPolicy, Rotate, Rotation, Session, Store, TokenRef,
};

use crate::common::real_now;
use crate::common::redis::{RedisCluster, RedisServer, unique_prefix};

const CLIENT: &str = "client-a";
const OTHER_CLIENT: &str = "client-b";
const TTL: u64 = 3600;
const MAX_FAILURES: u32 = 3;

pub enum Backend {
    Memory,
    Redis,
    Cluster,
}

impl Backend {
    /// A fresh store: its own memory, or its own key prefix on the shared Redis or cluster.
    pub fn store(&self, label: &str) -> Store {
        let prefix = unique_prefix(label);
        match self {
            Backend::Memory => Store::Memory(MemoryStore::new()),
            Backend::Redis => {
                let url = RedisServer::shared().url();
                Store::Redis(RedisStore::new(&Topology::Single(url), &prefix, 0).unwrap())
            }
            Backend::Cluster => {
                let urls = RedisCluster::shared().urls();
                let nodes = urls.split(',').map(str::to_owned).collect();
                Store::Redis(RedisStore::new(&Topology::Cluster(nodes), &prefix, 0).unwrap())
            }
        }
    }
}

macro_rules! contract {
    ($($behaviour:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::Backend::Memory.store(stringify!($behaviour))).await
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::Backend::Redis.store(stringify!($behaviour))).await
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::Backend::Cluster.store(stringify!($behaviour))).await
                }
            )*
        }
    };
}

contract!(
    rotation_returns_the_grant_and_the_successor_rotates_in_turn,
    a_family_is_created_once,
    a_rotated_away_token_is_reuse_and_revokes_the_family_with_its_successor,
    a_token_of_the_live_generation_that_is_not_the_live_one_is_reuse,
    without_grace_a_reuse_stamped_before_the_rotation_is_still_reuse,
    within_the_grace_window_a_consumed_token_gets_its_successor_again_without_revoking,
    a_token_ahead_of_a_record_that_lost_writes_rolls_it_forward,
    a_consumed_token_a_lost_write_lets_rotate_again_yields_the_successor_it_yielded_before,
    a_revoked_family_restored_by_no_loss_stays_revoked,
    after_the_grace_window_reuse_revokes_the_family,
    a_refresh_token_expires_by_the_time_passed_in,
    each_rotation_starts_a_fresh_lifetime_for_the_successor,
    another_clients_token_is_invalid_and_not_consumed,
    a_family_bound_to_a_dpop_key_rotates_only_with_a_proof_by_that_key,
    an_unbound_family_rotates_with_a_proof_or_without,
    a_family_record_written_before_dpop_still_rotates,
    a_narrower_scope_rotates_and_keeps_the_family_scope,
    a_wider_scope_is_refused_without_consuming_the_token,
    refresh_info_describes_a_live_token,
    refresh_info_is_none_for_used_revoked_and_unknown_tokens,
    revoking_by_the_owner_revokes_the_whole_family,
    revoking_by_another_client_changes_nothing,
    revoking_an_unknown_token_succeeds,
    a_code_redeems_once_with_its_record,
    a_released_code_redeems_again,
    releasing_a_code_for_another_family_changes_nothing,
    a_replayed_code_revokes_the_family_issued_from_it,
    a_code_replayed_after_its_expiry_still_revokes_the_family,
    a_code_replayed_before_its_family_is_created_revokes_that_family_in_advance,
    a_code_expires_by_the_time_passed_in,
    an_unknown_code_is_unknown,
    another_clients_code_is_unknown_and_not_spent,
    another_client_replaying_a_spent_code_revokes_nothing,
    a_session_is_stored_read_and_deleted,
    a_session_expires_by_the_time_passed_in,
    failures_under_the_limit_do_not_throttle,
    the_failure_that_reaches_the_limit_throttles_for_one_second,
    a_wait_lasts_its_full_length_from_the_failure_that_set_it,
    no_more_attempts_run_at_once_than_failures_are_left,
    a_reservation_left_unsettled_lapses,
    each_failure_after_a_wait_doubles_it_up_to_five_minutes,
    a_success_resets_the_failure_count,
    failures_of_one_username_do_not_throttle_another,
    the_failure_count_is_forgotten_after_fifteen_minutes_without_failures,
    twenty_concurrent_rotations_of_one_token_rotate_exactly_once,
    a_single_use_id_is_spent_once,
    single_use_ids_of_different_kinds_do_not_collide,
    a_pushed_request_is_taken_once,
    an_expired_pushed_request_is_not_taken,
);

fn policy() -> RefreshPolicy {
    RefreshPolicy {
        ttl: TTL,
        reuse_grace: 0,
    }
}

fn grace(seconds: u64) -> RefreshPolicy {
    RefreshPolicy {
        ttl: TTL,
        reuse_grace: seconds,
    }
}

fn grant(now: u64) -> Grant {
    Grant {
        client_id: CLIENT.into(),
        username: Some("jsmith".into()),
        scope: Scope::parse("read write").unwrap(),
        auth_time: Some(now),
        jkt: None,
    }
}

const FAMILY: &str = "fam";

/// The digest of token `n` of family `fam`: a chain, as `refresh_token` makes it, where token
/// `n + 1` is the one successor of token `n`.
fn digest(n: u32) -> String {
    format!("digest-of-token-{n}")
}

/// Token `n` of family `fam`, as the store is told of it.
fn rt(n: u32) -> (u32, String) {
    (n, digest(n))
}

fn as_ref(token: &(u32, String)) -> TokenRef<'_> {
    TokenRef {
        family: FAMILY,
        generation: token.0,
        digest: &token.1,
    }
}

/// Starts family `fam` with token `rt(0)` at `now`.
async fn family(store: &Store, now: u64, policy: RefreshPolicy) {
    let created = store
        .create_family(as_ref(&rt(0)), &grant(now), now, policy)
        .await
        .unwrap();
    assert!(created);
}

/// Presents a token of generation `generation` with digest `digest`, whose successor is token
/// `generation + 1`.
async fn present(
    store: &Store,
    client: &str,
    token: (u32, String),
    scope: Option<&str>,
    now: u64,
    policy: RefreshPolicy,
) -> Rotation {
    let scope = scope.map(|s| Scope::parse(s).unwrap());
    let successor = digest(token.0 + 1);
    let rotate = Rotate {
        presented: as_ref(&token),
        successor: &successor,
        client_id: client,
        jkt: None,
        scope: scope.as_ref(),
        now,
    };
    store.rotate_refresh(&rotate, policy).await.unwrap()
}

/// Presents token `n` as the family's client with a DPoP proof by the key `jkt`, or none.
async fn present_with_key(store: &Store, n: u32, jkt: Option<&str>, now: u64) -> Rotation {
    let successor = digest(n + 1);
    let token = rt(n);
    let rotate = Rotate {
        presented: as_ref(&token),
        successor: &successor,
        client_id: CLIENT,
        jkt,
        scope: None,
        now,
    };
    store.rotate_refresh(&rotate, policy()).await.unwrap()
}

async fn rotate_as(
    store: &Store,
    client: &str,
    n: u32,
    scope: Option<&str>,
    now: u64,
    policy: RefreshPolicy,
) -> Rotation {
    present(store, client, rt(n), scope, now, policy).await
}

/// Presents token `n` as the family's client.
async fn rotate(store: &Store, n: u32, now: u64, policy: RefreshPolicy) -> Rotation {
    rotate_as(store, CLIENT, n, None, now, policy).await
}

async fn info(store: &Store, n: u32, now: u64) -> Option<RefreshInfo> {
    store.refresh_info(as_ref(&rt(n)), now).await.unwrap()
}

async fn rotation_returns_the_grant_and_the_successor_rotates_in_turn(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert_eq!(
        rotate(&store, 0, now + 1, policy()).await,
        Rotation::Rotated(grant(now))
    );
    assert_eq!(
        rotate(&store, 1, now + 2, policy()).await,
        Rotation::Rotated(grant(now))
    );
}

async fn a_family_is_created_once(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    let other_first = (0, "digest-of-another-first-token".to_owned());
    let again = store
        .create_family(as_ref(&other_first), &grant(now), now, policy())
        .await
        .unwrap();
    assert!(!again);
    let other = store.refresh_info(as_ref(&other_first), now).await.unwrap();
    assert_eq!(other, None);
    assert!(matches!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(_)
    ));
}

async fn a_rotated_away_token_is_reuse_and_revokes_the_family_with_its_successor(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert!(matches!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(_)
    ));
    assert_eq!(rotate(&store, 0, now + 1, policy()).await, Rotation::Reused);
    assert_eq!(info(&store, 1, now + 1).await, None);
    assert_eq!(
        rotate(&store, 1, now + 1, policy()).await,
        Rotation::Invalid
    );
    assert_eq!(
        rotate(&store, 2, now + 1, policy()).await,
        Rotation::Invalid
    );
}

async fn a_token_of_the_live_generation_that_is_not_the_live_one_is_reuse(store: Store) {
    let now = real_now();
    family(&store, now, grace(30)).await;
    let impostor = (0, "digest-of-a-token-never-issued".to_owned());
    assert_eq!(
        present(&store, CLIENT, impostor, None, now, grace(30)).await,
        Rotation::Reused
    );
    assert_eq!(rotate(&store, 0, now, grace(30)).await, Rotation::Invalid);
}

/// Replicas' clocks differ: a replay at one whose clock is a second behind must not pass.
async fn without_grace_a_reuse_stamped_before_the_rotation_is_still_reuse(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert!(matches!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(_)
    ));
    assert_eq!(rotate(&store, 0, now - 1, policy()).await, Rotation::Reused);
}

async fn within_the_grace_window_a_consumed_token_gets_its_successor_again_without_revoking(
    store: Store,
) {
    let now = real_now();
    family(&store, now, grace(30)).await;
    assert!(matches!(
        rotate(&store, 0, now, grace(30)).await,
        Rotation::Rotated(_)
    ));
    assert_eq!(
        rotate(&store, 0, now + 29, grace(30)).await,
        Rotation::Rotated(grant(now))
    );
    // The successor answered twice is one token, still live, and rotates in turn.
    assert!(info(&store, 1, now + 29).await.is_some());
    assert!(matches!(
        rotate(&store, 1, now + 29, grace(30)).await,
        Rotation::Rotated(_)
    ));
    assert!(matches!(
        rotate(&store, 2, now + 29, grace(30)).await,
        Rotation::Rotated(_)
    ));
}

/// What a failover that lost writes does: the family's record goes back to `snapshot`.
async fn restore(store: &Store, snapshot: &Option<String>) {
    store
        .restore_family(FAMILY, snapshot.as_deref())
        .await
        .unwrap();
}

async fn snapshot(store: &Store) -> Option<String> {
    store.family_snapshot(FAMILY).await.unwrap()
}

async fn a_token_ahead_of_a_record_that_lost_writes_rolls_it_forward(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    let before = snapshot(&store).await;
    for n in 0..3 {
        assert!(matches!(
            rotate(&store, n, now, policy()).await,
            Rotation::Rotated(_)
        ));
    }
    // Three answered rotations lost: the holder of token 3 still refreshes, and on.
    restore(&store, &before).await;
    assert!(info(&store, 3, now).await.is_some());
    assert_eq!(
        rotate(&store, 3, now + 1, policy()).await,
        Rotation::Rotated(grant(now))
    );
    assert!(matches!(
        rotate(&store, 4, now + 2, policy()).await,
        Rotation::Rotated(_)
    ));
    // The tokens it passed over are consumed.
    assert_eq!(rotate(&store, 2, now + 3, policy()).await, Rotation::Reused);
}

async fn a_consumed_token_a_lost_write_lets_rotate_again_yields_the_successor_it_yielded_before(
    store: Store,
) {
    let now = real_now();
    family(&store, now, policy()).await;
    let before = snapshot(&store).await;
    assert!(matches!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(_)
    ));
    restore(&store, &before).await;
    // A replay of token 0 rotates again, to token 1 once more: no second branch exists.
    assert!(matches!(
        rotate(&store, 0, now + 1, policy()).await,
        Rotation::Rotated(_)
    ));
    assert!(matches!(
        rotate(&store, 1, now + 2, policy()).await,
        Rotation::Rotated(_)
    ));
    // Whoever holds token 1 too comes second, presents a consumed token: the family goes.
    assert_eq!(rotate(&store, 1, now + 3, policy()).await, Rotation::Reused);
    assert_eq!(
        rotate(&store, 2, now + 3, policy()).await,
        Rotation::Invalid
    );
}

async fn a_revoked_family_restored_by_no_loss_stays_revoked(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert!(matches!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(_)
    ));
    assert_eq!(rotate(&store, 0, now, policy()).await, Rotation::Reused);
    // A token ahead of the record does not bring a revoked family back.
    assert_eq!(rotate(&store, 5, now, policy()).await, Rotation::Invalid);
    let kept = snapshot(&store).await;
    assert!(kept.is_some_and(|record| record.contains("|1|")));
}

async fn after_the_grace_window_reuse_revokes_the_family(store: Store) {
    let now = real_now();
    family(&store, now, grace(30)).await;
    assert!(matches!(
        rotate(&store, 0, now, grace(30)).await,
        Rotation::Rotated(_)
    ));
    assert_eq!(
        rotate(&store, 0, now + 30, grace(30)).await,
        Rotation::Reused
    );
    assert_eq!(
        rotate(&store, 1, now + 30, grace(30)).await,
        Rotation::Invalid
    );
}

async fn a_refresh_token_expires_by_the_time_passed_in(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert!(info(&store, 0, now + TTL - 1).await.is_some());
    assert_eq!(info(&store, 0, now + TTL).await, None);
    assert_eq!(
        rotate(&store, 0, now + TTL, policy()).await,
        Rotation::Invalid
    );
}

async fn each_rotation_starts_a_fresh_lifetime_for_the_successor(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    let later = now + TTL - 10;
    assert!(matches!(
        rotate(&store, 0, later, policy()).await,
        Rotation::Rotated(_)
    ));
    let info = info(&store, 1, later).await.unwrap();
    assert_eq!((info.issued_at, info.expires_at), (later, later + TTL));
    // Past the first token's lifetime, the successor still rotates.
    assert!(matches!(
        rotate(&store, 1, later + TTL - 1, policy()).await,
        Rotation::Rotated(_)
    ));
}

async fn another_clients_token_is_invalid_and_not_consumed(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert_eq!(
        rotate_as(&store, OTHER_CLIENT, 0, None, now, policy()).await,
        Rotation::Invalid
    );
    assert_eq!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(grant(now))
    );
}

async fn a_family_bound_to_a_dpop_key_rotates_only_with_a_proof_by_that_key(store: Store) {
    let now = real_now();
    let bound = Grant {
        jkt: Some("key-a".into()),
        ..grant(now)
    };
    let first = rt(0);
    let created = store.create_family(as_ref(&first), &bound, now, policy());
    assert!(created.await.unwrap());
    for other in [None, Some("key-b")] {
        assert_eq!(
            present_with_key(&store, 0, other, now).await,
            Rotation::Invalid,
            "{other:?}"
        );
    }
    assert_eq!(
        present_with_key(&store, 0, Some("key-a"), now).await,
        Rotation::Rotated(bound),
        "the token was not consumed by the refused presentations"
    );
}

async fn an_unbound_family_rotates_with_a_proof_or_without(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert!(matches!(
        present_with_key(&store, 0, Some("key-a"), now).await,
        Rotation::Rotated(_)
    ));
    assert!(matches!(
        present_with_key(&store, 1, None, now).await,
        Rotation::Rotated(_)
    ));
}

async fn a_family_record_written_before_dpop_still_rotates(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    // The stored form of a family whose grant has no `jkt` member at all.
    let old_grant = format!(
        r#"{{"client_id":"{CLIENT}","username":"jsmith","scope":"read write","auth_time":{now}}}"#
    );
    let record = token_service::rotation::Record::first(0, &digest(0), now, TTL);
    let old = record.encode(&old_grant);
    store.restore_family(FAMILY, Some(&old)).await.unwrap();
    assert_eq!(
        present_with_key(&store, 0, Some("key-a"), now).await,
        Rotation::Rotated(grant(now))
    );
}

async fn a_narrower_scope_rotates_and_keeps_the_family_scope(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert_eq!(
        rotate_as(&store, CLIENT, 0, Some("read"), now, policy()).await,
        Rotation::Rotated(grant(now))
    );
    assert_eq!(
        info(&store, 1, now).await.unwrap().grant.scope,
        Scope::parse("read write").unwrap()
    );
}

async fn a_wider_scope_is_refused_without_consuming_the_token(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert_eq!(
        rotate_as(&store, CLIENT, 0, Some("read admin"), now, policy()).await,
        Rotation::ScopeExceeded
    );
    assert_eq!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(grant(now))
    );
}

async fn refresh_info_describes_a_live_token(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert_eq!(
        info(&store, 0, now + 5).await,
        Some(RefreshInfo {
            grant: grant(now),
            issued_at: now,
            expires_at: now + TTL,
        })
    );
}

async fn refresh_info_is_none_for_used_revoked_and_unknown_tokens(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    assert!(matches!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(_)
    ));
    assert_eq!(info(&store, 0, now).await, None, "used");
    assert!(info(&store, 1, now).await.is_some());
    store.revoke_refresh(as_ref(&rt(1)), CLIENT).await.unwrap();
    assert_eq!(info(&store, 1, now).await, None, "revoked");
    let unknown = TokenRef {
        family: "no-such-family",
        generation: 0,
        digest: "x",
    };
    assert_eq!(
        store.refresh_info(unknown, now).await.unwrap(),
        None,
        "unknown"
    );
}

async fn revoking_by_the_owner_revokes_the_whole_family(store: Store) {
    let now = real_now();
    family(&store, now, grace(30)).await;
    assert!(matches!(
        rotate(&store, 0, now, grace(30)).await,
        Rotation::Rotated(_)
    ));
    store.revoke_refresh(as_ref(&rt(1)), CLIENT).await.unwrap();
    assert_eq!(rotate(&store, 1, now, grace(30)).await, Rotation::Invalid);
    // Even the predecessor, inside its grace window, is dead.
    assert_eq!(rotate(&store, 0, now, grace(30)).await, Rotation::Invalid);
}

async fn revoking_by_another_client_changes_nothing(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    store
        .revoke_refresh(as_ref(&rt(0)), OTHER_CLIENT)
        .await
        .unwrap();
    assert!(info(&store, 0, now).await.is_some());
    assert_eq!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(grant(now))
    );
}

async fn revoking_an_unknown_token_succeeds(store: Store) {
    store
        .revoke_refresh(
            TokenRef {
                family: "no-such-family",
                generation: 0,
                digest: "x",
            },
            CLIENT,
        )
        .await
        .unwrap();
}

fn code_record(now: u64) -> CodeRecord {
    CodeRecord {
        grant: grant(now),
        redirect_uri: Some("http://localhost:8080/demo/callback".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        // OpenID Connect's, carried from /authorize to the ID token /token returns.
        nonce: Some("n-0S6_WzA2Mj".into()),
        sid: Some("a-session".into()),
        dpop_jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into()),
        expires_at: now + 60,
    }
}

fn code() -> Hashed {
    Hashed::of("an-authorization-code")
}

async fn a_code_redeems_once_with_its_record(store: Store) {
    let now = real_now();
    store
        .put_code(&code(), &code_record(now), 60)
        .await
        .unwrap();
    assert_eq!(
        redeem(&store, CLIENT, "fam", now).await,
        CodeRedemption::Redeemed(code_record(now))
    );
}

/// Redeems the code for `client` into `family`.
async fn redeem(store: &Store, client: &str, family: &str, now: u64) -> CodeRedemption {
    store
        .redeem_code(&code(), client, family, now, policy())
        .await
        .unwrap()
}

/// Stores the code and redeems it into the family `fam`.
async fn spend_code(store: &Store, now: u64) {
    store
        .put_code(&code(), &code_record(now), 60)
        .await
        .unwrap();
    let first = redeem(store, CLIENT, "fam", now).await;
    assert!(matches!(first, CodeRedemption::Redeemed(_)));
}

async fn a_released_code_redeems_again(store: Store) {
    let now = real_now();
    spend_code(&store, now).await;
    store.release_code(&code(), "fam").await;
    assert_eq!(
        redeem(&store, CLIENT, "fam-2", now).await,
        CodeRedemption::Redeemed(code_record(now))
    );
}

async fn releasing_a_code_for_another_family_changes_nothing(store: Store) {
    let now = real_now();
    spend_code(&store, now).await;
    store.release_code(&code(), "fam-x").await;
    assert_eq!(
        redeem(&store, CLIENT, "fam-2", now).await,
        CodeRedemption::Replayed
    );
}

async fn a_code_replayed_after_its_expiry_still_revokes_the_family(store: Store) {
    let now = real_now();
    spend_code(&store, now).await;
    family(&store, now, policy()).await;
    let late = now + 600;
    assert_eq!(
        redeem(&store, CLIENT, "fam-2", late).await,
        CodeRedemption::Replayed
    );
    assert_eq!(rotate(&store, 0, late, policy()).await, Rotation::Invalid);
}

async fn a_replayed_code_revokes_the_family_issued_from_it(store: Store) {
    let now = real_now();
    spend_code(&store, now).await;
    family(&store, now, policy()).await;
    assert_eq!(
        redeem(&store, CLIENT, "fam-2", now + 1).await,
        CodeRedemption::Replayed
    );
    assert_eq!(
        rotate(&store, 0, now + 1, policy()).await,
        Rotation::Invalid
    );
    assert_eq!(info(&store, 0, now + 1).await, None);
}

async fn a_code_replayed_before_its_family_is_created_revokes_that_family_in_advance(store: Store) {
    let now = real_now();
    spend_code(&store, now).await;
    assert_eq!(
        redeem(&store, CLIENT, "fam-2", now).await,
        CodeRedemption::Replayed
    );
    let created = store
        .create_family(as_ref(&rt(0)), &grant(now), now, policy())
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(rotate(&store, 0, now, policy()).await, Rotation::Invalid);
}

async fn a_code_expires_by_the_time_passed_in(store: Store) {
    let now = real_now();
    store
        .put_code(&code(), &code_record(now), 60)
        .await
        .unwrap();
    assert_eq!(
        redeem(&store, CLIENT, "fam", now + 60).await,
        CodeRedemption::Unknown
    );
}

async fn another_clients_code_is_unknown_and_not_spent(store: Store) {
    let now = real_now();
    store
        .put_code(&code(), &code_record(now), 60)
        .await
        .unwrap();
    assert_eq!(
        redeem(&store, OTHER_CLIENT, "fam-x", now).await,
        CodeRedemption::Unknown
    );
    assert_eq!(
        redeem(&store, CLIENT, "fam", now).await,
        CodeRedemption::Redeemed(code_record(now))
    );
}

async fn another_client_replaying_a_spent_code_revokes_nothing(store: Store) {
    let now = real_now();
    spend_code(&store, now).await;
    family(&store, now, policy()).await;
    assert_eq!(
        redeem(&store, OTHER_CLIENT, "fam-x", now).await,
        CodeRedemption::Unknown
    );
    assert!(matches!(
        rotate(&store, 0, now, policy()).await,
        Rotation::Rotated(_)
    ));
}

async fn an_unknown_code_is_unknown(store: Store) {
    assert_eq!(
        redeem(&store, CLIENT, "fam", real_now()).await,
        CodeRedemption::Unknown
    );
}

fn session(now: u64) -> Session {
    Session {
        username: "jsmith".into(),
        auth_time: now,
        expires_at: now + 600,
        sid: "a-session".into(),
    }
}

async fn a_session_is_stored_read_and_deleted(store: Store) {
    let now = real_now();
    let id = Hashed::of("a-session-id");
    store.put_session(&id, &session(now), 600).await.unwrap();
    assert_eq!(
        store.session(&id, now + 1).await.unwrap(),
        Some(session(now))
    );
    store.delete_session(&id).await.unwrap();
    assert_eq!(store.session(&id, now + 1).await.unwrap(), None);
    assert_eq!(
        store.session(&Hashed::of("unknown"), now).await.unwrap(),
        None
    );
}

async fn a_session_expires_by_the_time_passed_in(store: Store) {
    let now = real_now();
    let id = Hashed::of("a-session-id");
    store.put_session(&id, &session(now), 600).await.unwrap();
    assert!(store.session(&id, now + 599).await.unwrap().is_some());
    assert_eq!(store.session(&id, now + 600).await.unwrap(), None);
}

/// `times` attempts that each reserve and then fail at `now` (milliseconds).
async fn fail(store: &Store, username: &str, times: u32, now: u64) {
    for _ in 0..times {
        assert_eq!(
            store
                .reserve_login(username, now, MAX_FAILURES)
                .await
                .unwrap(),
            Attempt::Reserved
        );
        store
            .login_failed(username, now, MAX_FAILURES)
            .await
            .unwrap();
    }
}

/// What an attempt at `now` would be told, leaving nothing behind.
async fn attempt(store: &Store, username: &str, now: u64) -> Attempt {
    let attempt = store
        .reserve_login(username, now, MAX_FAILURES)
        .await
        .unwrap();
    if attempt == Attempt::Reserved {
        store.login_released(username).await.unwrap();
    }
    attempt
}

/// The wait an attempt at `now` would be told: `None` if it may run.
async fn wait(store: &Store, username: &str, now: u64) -> Option<u64> {
    match attempt(store, username, now).await {
        Attempt::Reserved => None,
        Attempt::Throttled(wait) => Some(wait),
        Attempt::Busy => panic!("attempts in flight, not a throttle"),
    }
}

fn now_ms() -> u64 {
    real_now() * 1000
}

async fn failures_under_the_limit_do_not_throttle(store: Store) {
    let now = now_ms();
    fail(&store, "jsmith", MAX_FAILURES - 1, now).await;
    assert_eq!(wait(&store, "jsmith", now).await, None);
}

async fn the_failure_that_reaches_the_limit_throttles_for_one_second(store: Store) {
    let now = now_ms();
    fail(&store, "jsmith", MAX_FAILURES, now).await;
    assert_eq!(wait(&store, "jsmith", now).await, Some(1000));
    assert_eq!(wait(&store, "jsmith", now + 999).await, Some(1));
    assert_eq!(wait(&store, "jsmith", now + 1000).await, None);
}

async fn a_wait_lasts_its_full_length_from_the_failure_that_set_it(store: Store) {
    let start = now_ms();
    fail(&store, "jsmith", MAX_FAILURES - 1, start).await;
    // The attempt starts at `start`; its failure is known 700 ms later (argon2 time).
    let reserved = store
        .reserve_login("jsmith", start, MAX_FAILURES)
        .await
        .unwrap();
    assert_eq!(reserved, Attempt::Reserved);
    store
        .login_failed("jsmith", start + 700, MAX_FAILURES)
        .await
        .unwrap();
    assert_eq!(wait(&store, "jsmith", start + 1699).await, Some(1));
    assert_eq!(wait(&store, "jsmith", start + 1700).await, None);
}

async fn each_failure_after_a_wait_doubles_it_up_to_five_minutes(store: Store) {
    let mut now = now_ms();
    fail(&store, "jsmith", MAX_FAILURES, now).await;
    let mut waits = vec![wait(&store, "jsmith", now).await.unwrap()];
    for _ in 0..10 {
        now += waits.last().unwrap();
        assert_eq!(wait(&store, "jsmith", now).await, None);
        fail(&store, "jsmith", 1, now).await;
        waits.push(wait(&store, "jsmith", now).await.unwrap());
    }
    let seconds: Vec<u64> = waits.iter().map(|w| w / 1000).collect();
    assert_eq!(seconds, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
}

async fn a_success_resets_the_failure_count(store: Store) {
    let now = now_ms();
    fail(&store, "jsmith", MAX_FAILURES, now).await;
    store.login_succeeded("jsmith").await.unwrap();
    assert_eq!(wait(&store, "jsmith", now).await, None);
    fail(&store, "jsmith", MAX_FAILURES - 1, now + 1000).await;
    assert_eq!(wait(&store, "jsmith", now + 1000).await, None);
}

async fn failures_of_one_username_do_not_throttle_another(store: Store) {
    let now = now_ms();
    fail(&store, "jsmith", MAX_FAILURES, now).await;
    assert!(wait(&store, "jsmith", now).await.is_some());
    assert_eq!(wait(&store, "alice", now).await, None);
}

async fn the_failure_count_is_forgotten_after_fifteen_minutes_without_failures(store: Store) {
    let now = now_ms();
    fail(&store, "jsmith", MAX_FAILURES - 1, now).await;
    fail(&store, "jsmith", 1, now + 900_000).await;
    assert_eq!(
        wait(&store, "jsmith", now + 900_000).await,
        None,
        "the earlier failures were forgotten"
    );
}

async fn no_more_attempts_run_at_once_than_failures_are_left(store: Store) {
    let now = now_ms();
    for _ in 0..MAX_FAILURES {
        let attempt = store
            .reserve_login("jsmith", now, MAX_FAILURES)
            .await
            .unwrap();
        assert_eq!(attempt, Attempt::Reserved);
    }
    assert_eq!(attempt(&store, "jsmith", now).await, Attempt::Busy);
    // One failure settles: one fewer failure is left, so still none may start.
    store
        .login_failed("jsmith", now, MAX_FAILURES)
        .await
        .unwrap();
    assert_eq!(attempt(&store, "jsmith", now).await, Attempt::Busy);
    // One attempt could not be checked (argon2 pool full): its place is free again.
    store.login_released("jsmith").await.unwrap();
    assert_eq!(wait(&store, "jsmith", now).await, None);
}

async fn a_reservation_left_unsettled_lapses(store: Store) {
    let now = now_ms();
    for _ in 0..MAX_FAILURES {
        store
            .reserve_login("jsmith", now, MAX_FAILURES)
            .await
            .unwrap();
    }
    assert_eq!(attempt(&store, "jsmith", now + 9_999).await, Attempt::Busy);
    assert_eq!(wait(&store, "jsmith", now + 10_000).await, None);
}

async fn twenty_concurrent_rotations_of_one_token_rotate_exactly_once(store: Store) {
    let now = real_now();
    family(&store, now, policy()).await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (1..=20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { rotate(&store, 0, now, policy()).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Rotated(_)))
        .count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    // The others came second: reuse, or invalid once the first reuse revoked the family.
    assert!(outcomes.contains(&Rotation::Reused), "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Rotation::Rotated(_) | Rotation::Reused | Rotation::Invalid
        )),
        "{outcomes:?}"
    );
}

async fn a_single_use_id_is_spent_once(store: Store) {
    let now = real_now();
    let jti = Hashed::of("a-jti");
    let spend = || store.spend_once(OnceKind::DpopProof, &jti, now + 60, now);
    assert!(spend().await.unwrap());
    assert!(!spend().await.unwrap());
    assert!(!spend().await.unwrap());
}

async fn single_use_ids_of_different_kinds_do_not_collide(store: Store) {
    let now = real_now();
    let jti = Hashed::of("a-jti");
    for kind in [OnceKind::DpopProof, OnceKind::ClientAssertion] {
        assert!(store.spend_once(kind, &jti, now + 60, now).await.unwrap());
    }
}

fn pushed(now: u64) -> PushedRequest {
    PushedRequest {
        client_id: CLIENT.into(),
        params: vec![("response_type".into(), "code".into())],
        expires_at: now + 60,
    }
}

async fn a_pushed_request_is_taken_once(store: Store) {
    let now = real_now();
    let uri = Hashed::of("a-request-uri");
    store.put_pushed(&uri, &pushed(now), 60).await.unwrap();
    assert_eq!(
        store.take_pushed(&uri, now).await.unwrap(),
        Some(pushed(now))
    );
    assert_eq!(store.take_pushed(&uri, now).await.unwrap(), None);
}

async fn an_expired_pushed_request_is_not_taken(store: Store) {
    let now = real_now();
    let uri = Hashed::of("a-request-uri");
    store.put_pushed(&uri, &pushed(now), 60).await.unwrap();
    assert_eq!(store.take_pushed(&uri, now + 60).await.unwrap(), None);
}
