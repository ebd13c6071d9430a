//! What `/readyz` and start-up report of the store: up, down or memory, Redis's eviction
//! policy, and whether its replicas match `TS_REDIS_WAIT_REPLICAS`.

use serde::Serialize;

/// What `/readyz` reports.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreHealth {
    Memory,
    Up,
    Down,
}

impl StoreHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreHealth::Memory => "memory",
            StoreHealth::Up => "up",
            StoreHealth::Down => "down",
        }
    }
}

/// What `/readyz` and start-up report of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreReport {
    pub health: StoreHealth,
    /// Redis's `maxmemory-policy`, when Redis answered.
    pub maxmemory_policy: Option<String>,
    /// The replicas of the Redis primary (`connected_slaves`), when Redis answered.
    pub replicas: Option<u32>,
    /// `TS_REDIS_WAIT_REPLICAS`.
    pub wait_replicas: u32,
}

impl StoreReport {
    pub fn of(health: StoreHealth) -> Self {
        StoreReport {
            health,
            maxmemory_policy: None,
            replicas: None,
            wait_replicas: 0,
        }
    }

    /// What is wrong when the primary's replicas are not the number every write that waits
    /// waits for: fewer, and those writes answer 503; more, and a failover to a replica that
    /// did not acknowledge one loses it. Rotations wait for none and lose nothing that
    /// matters (`rotation`).
    pub fn replication_warning(&self) -> Option<String> {
        let (replicas, wait) = (self.replicas?, self.wait_replicas);
        if wait == 0 || replicas == wait {
            return None;
        }
        Some(if replicas < wait {
            format!(
                "the Redis primary has {replicas} replicas and TS_REDIS_WAIT_REPLICAS is {wait}: \
                 every write that waits for them (logins, codes, sessions, revocations, new refresh families) answers 503 until enough replicas are back; refresh goes on"
            )
        } else {
            format!(
                "the Redis primary has {replicas} replicas and TS_REDIS_WAIT_REPLICAS is {wait}: \
                 a failover to a replica that did not acknowledge a code redemption, session or \
                 revocation loses it; set TS_REDIS_WAIT_REPLICAS to {replicas}"
            )
        })
    }

    /// Whether Redis may evict the service's keys: any policy but `noeviction` (every key
    /// has a TTL, so the `volatile-*` policies evict them too).
    pub fn evicts(&self) -> bool {
        self.maxmemory_policy
            .as_deref()
            .is_some_and(|policy| policy != "noeviction")
    }
}

#[cfg(test)]
mod tests {
    use super::{StoreHealth, StoreReport};

    fn replicated(replicas: u32, wait_replicas: u32) -> StoreReport {
        StoreReport {
            replicas: Some(replicas),
            wait_replicas,
            ..StoreReport::of(StoreHealth::Up)
        }
    }

    #[test]
    fn waiting_for_every_replica_or_for_none_is_no_warning() {
        assert_eq!(replicated(2, 2).replication_warning(), None);
        assert_eq!(replicated(2, 0).replication_warning(), None);
        assert_eq!(
            StoreReport::of(StoreHealth::Down).replication_warning(),
            None
        );
    }

    #[test]
    fn more_replicas_than_a_write_waits_for_is_a_warning_naming_the_setting() {
        let warning = replicated(2, 1).replication_warning().unwrap();
        assert!(
            warning.contains("set TS_REDIS_WAIT_REPLICAS to 2"),
            "{warning}"
        );
    }

    #[test]
    fn fewer_replicas_than_a_write_waits_for_is_a_warning_that_writes_fail() {
        let warning = replicated(1, 2).replication_warning().unwrap();
        assert!(
            warning.contains("answers 503 until enough replicas are back; refresh goes on"),
            "{warning}"
        );
    }
}
