//! The refresh-token rotation decision (docs/design.md, "Rotation"): one pure function of a
//! family's record, the presented token, `now` and the grace window. The memory store calls
//! it; the Redis script (`store/redis/lua/rotate.lua`) is the same function in Lua, and a
//! differential test holds the two together.
//!
//! Why it survives lost writes: every token names its generation, and a token's successor is
//! derived from the token itself (`refresh_token`), so each generation of a family has exactly
//! one token. A record that went back to an earlier state (a Redis failover without `WAIT`, a
//! restart from an older snapshot) is behind the tokens its clients hold; a token ahead of the
//! record can only have been issued by the service (its MAC says so), so it rolls the record
//! forward. A consumed token that such a loss lets rotate again yields the very token its
//! first rotation yielded: no fork ever diverges, and whichever holder comes second presents a
//! consumed token, which revokes the family. No clock of Redis, no timeout and no undo enters.

use std::fmt;

use crate::clock::UnixTime;
use crate::scope::Scope;

/// What the store keeps of a family to decide on a presented token.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// The generation of the live token: 0 for the family's first.
    pub generation: u32,
    /// The digest of the live token (`refresh_token::Identity::digest`), never the token.
    pub live: String,
    /// When the live token was issued, which is when its parent was consumed.
    pub rotated_at: UnixTime,
    /// The family's own expiry; Redis's TTL mirrors it.
    pub expires_at: UnixTime,
    pub revoked: bool,
}

/// A presented token the service verified (its MAC is ours), and what the request asks.
#[derive(Clone, Copy, Debug)]
pub struct Presented<'a> {
    pub generation: u32,
    /// The digest of the presented token.
    pub digest: &'a str,
    /// The digest of its successor, the one token a rotation of it may yield.
    pub successor: &'a str,
    /// Whether the family was granted to the client presenting it (and, for a family bound to
    /// a DPoP key, whether the request's proof is by that key).
    pub client_matches: bool,
    /// Whether the scope asked for (if any) is within the family's.
    pub scope_within: bool,
}

/// What the store does with a presented token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The successor becomes the live token, at the presented generation plus one: the
    /// presented token was live, or ahead of a record that lost writes.
    Rotate,
    /// The presented token is the live one's parent, consumed within the grace window: its
    /// successor (the live token) is answered again; nothing changes.
    Repeat,
    /// A consumed token (or one of the live generation that is not the live token): the family
    /// is revoked (RFC 9700 §4.14).
    Reuse,
    /// Revoked, expired, another client's, or past the last generation: nothing changes.
    Invalid,
    /// The scope asked for exceeds the family's: nothing changes (RFC 6749 §6).
    ScopeExceeded,
}

/// The decision, in this order: a family that is over or not the client's is `Invalid`; a
/// scope beyond it is `ScopeExceeded`; then the token's generation against the record's.
pub fn decide(record: &Record, presented: &Presented, now: UnixTime, grace: u64) -> Decision {
    if record.revoked || now >= record.expires_at || !presented.client_matches {
        return Decision::Invalid;
    }
    if !presented.scope_within {
        return Decision::ScopeExceeded;
    }
    let (presented_gen, live_gen) = (presented.generation, record.generation);
    if presented_gen == u32::MAX {
        return Decision::Invalid;
    }
    if presented_gen == live_gen {
        return if presented.digest == record.live {
            Decision::Rotate
        } else {
            Decision::Reuse
        };
    }
    if presented_gen > live_gen {
        return Decision::Rotate;
    }
    // Without a grace window no second use passes, whatever the clocks of two replicas say.
    let parent_of_live = presented_gen + 1 == live_gen && presented.successor == record.live;
    if parent_of_live && grace > 0 && now < record.rotated_at.saturating_add(grace) {
        return Decision::Repeat;
    }
    Decision::Reuse
}

impl Record {
    /// A new family's record, its first token (`generation`, `digest`) live from `now`.
    pub fn first(generation: u32, digest: &str, now: UnixTime, ttl: u64) -> Record {
        Record {
            generation,
            live: digest.to_owned(),
            rotated_at: now,
            expires_at: now.saturating_add(ttl),
            revoked: false,
        }
    }

    /// A revoked family with no token: what a replayed code leaves before its family exists.
    pub fn tombstone(expires_at: UnixTime) -> Record {
        Record {
            generation: 0,
            live: String::new(),
            rotated_at: 0,
            expires_at,
            revoked: true,
        }
    }

    /// The record a rotation of `presented` at `now` leaves.
    pub fn rotated(presented: &Presented, now: UnixTime, ttl: u64) -> Record {
        Record {
            generation: presented.generation + 1,
            live: presented.successor.to_owned(),
            rotated_at: now,
            expires_at: now.saturating_add(ttl),
            revoked: false,
        }
    }

    /// Parses the stored form `generation|rotated_at|expires_at|live|revoked|rest`, returning
    /// the record and `rest` (the grant, which may hold any character). The Redis script
    /// reads the same form.
    pub fn parse(stored: &str) -> Option<(Record, &str)> {
        let mut fields = stored.splitn(6, '|');
        let mut next = || fields.next();
        let generation = next()?.parse().ok()?;
        let rotated_at = next()?.parse().ok()?;
        let expires_at = next()?.parse().ok()?;
        let live = next()?.to_owned();
        let revoked = match next()? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        let rest = next()?;
        let record = Record {
            generation,
            live,
            rotated_at,
            expires_at,
            revoked,
        };
        Some((record, rest))
    }

    /// The stored form, with `rest` (the grant) last.
    pub fn encode(&self, rest: &str) -> String {
        format!("{self}|{rest}")
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}|{}|{}|{}|{}",
            self.generation,
            self.rotated_at,
            self.expires_at,
            self.live,
            u8::from(self.revoked)
        )
    }
}

/// Whether `requested` (if any) is within the family's `granted` scope.
pub fn scope_within(requested: Option<&Scope>, granted: &Scope) -> bool {
    requested.is_none_or(|r| r.is_subset(granted))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_000_000;

    fn record(generation: u32, live: &str) -> Record {
        Record {
            generation,
            live: live.into(),
            rotated_at: NOW - 10,
            expires_at: NOW + 1000,
            revoked: false,
        }
    }

    fn presented<'a>(generation: u32, digest: &'a str, successor: &'a str) -> Presented<'a> {
        Presented {
            generation,
            digest,
            successor,
            client_matches: true,
            scope_within: true,
        }
    }

    #[test]
    fn the_live_token_rotates() {
        let decision = decide(&record(3, "d3"), &presented(3, "d3", "d4"), NOW, 0);
        assert_eq!(decision, Decision::Rotate);
        let next = Record::rotated(&presented(3, "d3", "d4"), NOW, 60);
        assert_eq!((next.generation, next.live.as_str()), (4, "d4"));
        assert_eq!((next.rotated_at, next.expires_at), (NOW, NOW + 60));
    }

    #[test]
    fn a_token_ahead_of_the_record_rolls_it_forward() {
        let decision = decide(&record(3, "d3"), &presented(5, "d5", "d6"), NOW, 0);
        assert_eq!(decision, Decision::Rotate);
        assert_eq!(
            Record::rotated(&presented(5, "d5", "d6"), NOW, 60).generation,
            6
        );
    }

    #[test]
    fn a_consumed_token_is_reuse_and_within_the_grace_window_repeats_its_successor() {
        let live = record(4, "d4");
        assert_eq!(
            decide(&live, &presented(3, "d3", "d4"), NOW, 0),
            Decision::Reuse
        );
        assert_eq!(
            decide(&live, &presented(3, "d3", "d4"), NOW, 11),
            Decision::Repeat
        );
        assert_eq!(
            decide(&live, &presented(3, "d3", "d4"), NOW, 10),
            Decision::Reuse
        );
        // Older than the live token's parent: reuse, grace or not.
        assert_eq!(
            decide(&live, &presented(2, "d2", "d3"), NOW, 60),
            Decision::Reuse
        );
        // A replica whose clock is behind the one that rotated: no grace, no second use.
        assert_eq!(
            decide(&live, &presented(3, "d3", "d4"), NOW - 20, 0),
            Decision::Reuse
        );
    }

    #[test]
    fn a_token_of_the_live_generation_that_is_not_the_live_one_is_reuse() {
        let decision = decide(&record(3, "d3"), &presented(3, "other", "d4"), NOW, 60);
        assert_eq!(decision, Decision::Reuse);
    }

    #[test]
    fn a_revoked_expired_or_other_clients_family_is_invalid_before_anything_else() {
        let mut revoked = record(3, "d3");
        revoked.revoked = true;
        assert_eq!(
            decide(&revoked, &presented(3, "d3", "d4"), NOW, 0),
            Decision::Invalid
        );
        let expired = record(3, "d3");
        assert_eq!(
            decide(&expired, &presented(3, "d3", "d4"), NOW + 1000, 0),
            Decision::Invalid
        );
        let mut other = presented(2, "d2", "d3");
        other.client_matches = false;
        assert_eq!(decide(&record(3, "d3"), &other, NOW, 0), Decision::Invalid);
    }

    #[test]
    fn a_scope_beyond_the_familys_consumes_nothing_even_for_a_consumed_token() {
        let mut wide = presented(2, "d2", "d3");
        wide.scope_within = false;
        assert_eq!(
            decide(&record(3, "d3"), &wide, NOW, 0),
            Decision::ScopeExceeded
        );
    }

    #[test]
    fn the_stored_form_round_trips_and_keeps_any_character_in_the_rest() {
        let stored = record(7, "abc").encode("{\"scope\":\"a|b\"}");
        assert_eq!(
            stored,
            format!("7|{}|{}|abc|0|{{\"scope\":\"a|b\"}}", NOW - 10, NOW + 1000)
        );
        let (parsed, rest) = Record::parse(&stored).unwrap();
        assert_eq!(parsed, record(7, "abc"));
        assert_eq!(rest, "{\"scope\":\"a|b\"}");
        assert_eq!(Record::parse("7|1|2|abc|2|x"), None);
        assert_eq!(Record::parse("x|1|2|abc|0|x"), None);
        assert_eq!(Record::parse("7|1|2|abc|0"), None);
    }
}
