//! A model check of the refresh-token rotation protocol (docs/design.md, "Rotation"): every
//! interleaving, within the bounds below, of a legitimate client (which may also present a
//! token twice at once, or lose an answer by a 503 or by hanging up), a thief holding a stolen
//! token, a forger who reads all of Redis, lost writes (the family's record goes back to any
//! earlier state, as a failover without `WAIT` or a restart from an older snapshot does) and
//! the passing of time against the grace window, each presentation decided by the service's
//! own `rotation::decide`. Properties P1-P6 (docs/design.md) are checked in every state
//! reached; each is also shown to fail on a variant of the protocol broken on purpose, so a
//! property that could not fail would show.

use std::collections::BTreeSet;

use stateright::{Checker, Model, Property};
use token_service::rotation::{Decision, Presented, Record, decide};

/// Bounds: generations of the family, presentations, lost writes, seconds of time.
const MAX_GENERATION: u32 = 5;
const MAX_PRESENTATIONS: u8 = 6;
const MAX_REVERTS: u8 = 3;
const MAX_TICKS: u64 = 2;
const TTL: u64 = 100;

/// A token: its generation and its value (what its digest is taken of).
type Token = (u32, String);

/// How the protocol is broken on purpose, to show a property can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Variant {
    Sound,
    /// A consumed token's successor is answered again even without a grace window.
    RepeatWithoutGrace,
    /// Reuse is refused but revokes nothing.
    ReuseRevokesNothing,
    /// A token ahead of the record is refused: lost writes are not rolled forward.
    NoRollForward,
    /// Each rotation draws a fresh successor instead of deriving it from the token.
    RandomSuccessor,
    /// Tokens are not checked for the service's MAC.
    NoMacCheck,
    /// A rotation whose answer was lost is undone by the request that made it, which a client
    /// hanging up cancels (what an undo in the request's future does).
    UndoUnlessHungUp,
}

#[derive(Clone, Debug)]
struct Protocol {
    variant: Variant,
    grace: u64,
}

/// What a party holds and did.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Holder {
    token: Option<Token>,
    presented: bool,
    signed_out: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    record: Record,
    /// Every earlier state of the record: a lost write puts one of them back.
    history: Vec<Record>,
    reverts: u8,
    presentations: u8,
    now: u64,
    client: Holder,
    /// Two presentations of the client's token at once (two tabs), or an answer the client
    /// never got: its retry of a consumed token is reuse, so neither is for P3.
    client_concurrent: bool,
    thief: Holder,
    /// Rotations made, for `RandomSuccessor`'s fresh values.
    rotations: u32,
    /// Every token the service issued.
    issued: BTreeSet<Token>,
    /// Successful presentations of each token since the last lost write.
    succeeded: BTreeSet<Token>,
    /// The first property a step broke, if any.
    broken: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Action {
    /// The client presents its latest token.
    Client,
    /// The client presents its latest token twice at once: two decisions, one after the
    /// other, each answer to the client.
    ClientTwice,
    /// The client presents its latest token and never gets the answer: the service answered
    /// 503 at its bound (`hangs_up` false) or the client hung up (true).
    ClientLosesAnswer {
        hangs_up: bool,
    },
    /// The thief copies the client's latest token.
    Steal,
    Thief,
    /// A token the service never issued, of the next generation, by someone who read the
    /// record (and so knows the live digest) but has no key.
    Forge,
    /// The record goes back to its `n`-th earlier state.
    LoseWrites(usize),
    Tick,
}

fn digest(token: &Token) -> String {
    format!("{}:{}", token.0, token.1)
}

impl Protocol {
    /// The successor the service derives for `token`.
    fn successor(&self, token: &Token, rotations: u32) -> Token {
        match self.variant {
            Variant::RandomSuccessor => (token.0 + 1, format!("{}r{rotations}", token.1)),
            _ => (token.0 + 1, format!("{}s", token.1)),
        }
    }

    /// Presents `token` at `state`; the outcome and the successor answered, if any.
    fn present(&self, state: &mut State, token: &Token, mac_ok: bool) -> (Decision, Option<Token>) {
        state.presentations += 1;
        if !mac_ok && self.variant != Variant::NoMacCheck {
            return (Decision::Invalid, None);
        }
        let successor = self.successor(token, state.rotations);
        let (presented_digest, successor_digest) = (digest(token), digest(&successor));
        let presented = Presented {
            generation: token.0,
            digest: &presented_digest,
            successor: &successor_digest,
            client_matches: true,
            scope_within: true,
        };
        let record = &state.record;
        let mut decision = decide(record, &presented, state.now, self.grace);
        match self.variant {
            Variant::RepeatWithoutGrace
                if token.0 + 1 == record.generation && successor_digest == record.live =>
            {
                decision = Decision::Repeat;
            }
            Variant::NoRollForward if token.0 > record.generation && !record.revoked => {
                decision = Decision::Invalid;
            }
            _ => {}
        }
        let before = state.record.clone();
        match decision {
            Decision::Rotate => {
                state.history.push(before);
                state.record = Record::rotated(&presented, state.now, TTL);
                state.rotations += 1;
            }
            Decision::Reuse if self.variant != Variant::ReuseRevokesNothing => {
                state.history.push(before);
                state.record.revoked = true;
            }
            _ => {}
        }
        let answered = matches!(decision, Decision::Rotate | Decision::Repeat);
        if answered {
            state.issued.insert(successor.clone());
        }
        (decision, answered.then_some(successor))
    }

    /// A presentation whose answer the client never gets; the broken variant undoes it unless
    /// the client hung up.
    fn present_unanswered(&self, state: &mut State, token: &Token, hangs_up: bool) -> Decision {
        let before = state.record.clone();
        let (decision, _) = self.present(state, token, true);
        let undone = self.variant == Variant::UndoUnlessHungUp && !hangs_up;
        if undone && decision == Decision::Rotate {
            state.record = before;
        }
        decision
    }

    /// Checks the step's properties that concern one presentation.
    fn check_presentation(
        &self,
        before: &State,
        after: &mut State,
        token: &Token,
        mac_ok: bool,
        decision: Decision,
    ) {
        let success = matches!(decision, Decision::Rotate | Decision::Repeat);
        // P6: only tokens the service issued are accepted.
        if success && !mac_ok {
            after.broken.get_or_insert("P6 only issued tokens");
        }
        // P1: of uses of one token with no lost write between them, one succeeds (with no
        // grace window); and the live token of a live family always does.
        if success && self.grace == 0 && !after.succeeded.insert(token.clone()) {
            after.broken.get_or_insert("P1 exactly one");
        }
        let live = !before.record.revoked
            && token.0 == before.record.generation
            && digest(token) == before.record.live;
        if live && !success {
            after.broken.get_or_insert("P1 exactly one");
        }
        // P2: a consumed token, past the grace window, revokes the family.
        let consumed = mac_ok && !before.record.revoked && token.0 < before.record.generation;
        let in_grace = self.grace > 0 && before.now < before.record.rotated_at + self.grace;
        if consumed && !in_grace && !(decision == Decision::Reuse && after.record.revoked) {
            after.broken.get_or_insert("P2 reuse revokes");
        }
    }
}

impl Model for Protocol {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let first: Token = (0, "t".into());
        let record = Record {
            generation: 0,
            live: digest(&first),
            rotated_at: 0,
            expires_at: TTL,
            revoked: false,
        };
        vec![State {
            record,
            history: Vec::new(),
            reverts: 0,
            presentations: 0,
            now: 0,
            client: Holder {
                token: Some(first.clone()),
                presented: false,
                signed_out: false,
            },
            client_concurrent: false,
            thief: Holder {
                token: None,
                presented: false,
                signed_out: false,
            },
            rotations: 0,
            issued: BTreeSet::from([first]),
            succeeded: BTreeSet::new(),
            broken: None,
        }]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        if state.broken.is_some() {
            return;
        }
        let room = state.presentations < MAX_PRESENTATIONS;
        let below = |holder: &Holder| {
            holder
                .token
                .as_ref()
                .is_some_and(|t| t.0 < MAX_GENERATION && !holder.signed_out)
        };
        if room && below(&state.client) {
            actions.push(Action::Client);
            if state.presentations + 1 < MAX_PRESENTATIONS {
                actions.push(Action::ClientTwice);
            }
            actions.push(Action::ClientLosesAnswer { hangs_up: false });
            actions.push(Action::ClientLosesAnswer { hangs_up: true });
        }
        if state.thief.token.is_none() && state.client.token.is_some() {
            actions.push(Action::Steal);
        }
        if room && below(&state.thief) {
            actions.push(Action::Thief);
        }
        if room && state.record.generation < MAX_GENERATION {
            actions.push(Action::Forge);
        }
        if state.reverts < MAX_REVERTS {
            actions.extend((0..state.history.len()).map(Action::LoseWrites));
        }
        if state.now < MAX_TICKS {
            actions.push(Action::Tick);
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        match action {
            Action::Client | Action::ClientTwice => {
                let token = state.client.token.clone()?;
                let times = if action == Action::ClientTwice { 2 } else { 1 };
                state.client_concurrent |= times == 2;
                state.client.presented = true;
                let mut answers = Vec::new();
                for _ in 0..times {
                    let before = state.clone();
                    let (decision, successor) = self.present(&mut state, &token, true);
                    self.check_presentation(&before, &mut state, &token, true, decision);
                    answers.push(successor);
                }
                // The client keeps the newest token it was answered; a refusal signs it out.
                for answer in answers {
                    match answer {
                        Some(successor) => {
                            if state
                                .client
                                .token
                                .as_ref()
                                .is_none_or(|t| t.0 < successor.0)
                            {
                                state.client.token = Some(successor);
                            }
                        }
                        None => state.client.signed_out = true,
                    }
                }
            }
            Action::ClientLosesAnswer { hangs_up } => {
                let token = state.client.token.clone()?;
                state.client_concurrent = true;
                state.client.presented = true;
                let before = state.clone();
                // P5: what the store keeps must not depend on how the client ended its request.
                let mut other = state.clone();
                let decision = self.present_unanswered(&mut state, &token, hangs_up);
                self.present_unanswered(&mut other, &token, !hangs_up);
                self.check_presentation(&before, &mut state, &token, true, decision);
                if state.record != other.record {
                    state.broken.get_or_insert("P5 no clocks, no undo");
                }
            }
            Action::Steal => state.thief.token = state.client.token.clone(),
            Action::Thief => {
                let token = state.thief.token.clone()?;
                state.thief.presented = true;
                let before = state.clone();
                let (decision, successor) = self.present(&mut state, &token, true);
                self.check_presentation(&before, &mut state, &token, true, decision);
                match successor {
                    Some(successor) => state.thief.token = Some(successor),
                    None => state.thief.signed_out = true,
                }
            }
            Action::Forge => {
                let token: Token = (state.record.generation + 1, "forged".into());
                let before = state.clone();
                let (decision, _) = self.present(&mut state, &token, false);
                self.check_presentation(&before, &mut state, &token, false, decision);
            }
            Action::LoseWrites(n) => {
                state.record = state.history.get(n)?.clone();
                state.history.truncate(n);
                state.reverts += 1;
                state.succeeded.clear();
            }
            Action::Tick => state.now += 1,
        }
        // P4: no fork: every generation has one token.
        let mut generations = BTreeSet::new();
        if !state.issued.iter().all(|t| generations.insert(t.0)) {
            state.broken.get_or_insert("P4 forks are caught");
        }
        // P3: lost writes sign no one out: with no thief and no two requests at once, the
        // client is never refused.
        if state.client.signed_out && !state.thief.presented && !state.client_concurrent {
            state.broken.get_or_insert("P3 lost writes sign no one out");
        }
        Some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always("P1-P6 hold", |_, state: &State| {
            state.broken.is_none()
        })]
    }
}

/// Checks `variant` exhaustively; the property broken first, if any, and the states seen.
fn check(variant: Variant, grace: u64) -> (Option<&'static str>, usize) {
    let checker = Protocol { variant, grace }.checker().spawn_bfs().join();
    let broken = checker
        .discovery("P1-P6 hold")
        .and_then(|path| path.last_state().broken);
    (broken, checker.unique_state_count())
}

#[test]
fn the_protocol_keeps_p1_to_p6_in_every_reachable_state_without_a_grace_window() {
    let (broken, states) = check(Variant::Sound, 0);
    assert_eq!(broken, None);
    println!("rotation model, no grace: {states} states, all P1-P6");
    assert!(
        states > 10_000,
        "the bounds explore too little: {states} states"
    );
}

#[test]
fn the_protocol_keeps_p2_to_p6_in_every_reachable_state_with_a_grace_window() {
    // P1's one success per token is promised without a grace window only, and checked so.
    let (broken, states) = check(Variant::Sound, 1);
    assert_eq!(broken, None);
    println!("rotation model, 1 s grace: {states} states, P2-P6");
}

#[test]
fn repeating_a_successor_without_a_grace_window_breaks_p1() {
    assert_eq!(
        check(Variant::RepeatWithoutGrace, 0).0,
        Some("P1 exactly one")
    );
}

#[test]
fn reuse_that_revokes_nothing_breaks_p2() {
    assert_eq!(
        check(Variant::ReuseRevokesNothing, 0).0,
        Some("P2 reuse revokes")
    );
}

#[test]
fn refusing_tokens_ahead_of_the_record_breaks_p3() {
    assert_eq!(
        check(Variant::NoRollForward, 0).0,
        Some("P3 lost writes sign no one out")
    );
}

#[test]
fn fresh_random_successors_break_p4() {
    assert_eq!(
        check(Variant::RandomSuccessor, 0).0,
        Some("P4 forks are caught")
    );
}

#[test]
fn undoing_an_unanswered_rotation_in_the_request_breaks_p5() {
    assert_eq!(
        check(Variant::UndoUnlessHungUp, 0).0,
        Some("P5 no clocks, no undo")
    );
}

#[test]
fn skipping_the_mac_check_breaks_p6() {
    assert_eq!(
        check(Variant::NoMacCheck, 0).0,
        Some("P6 only issued tokens")
    );
}
