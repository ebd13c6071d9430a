//! Coarse deadlines for what almost never expires: each keep-alive connection's header-read
//! timeout and each request's deadline (docs/design.md, "Coarse deadlines"). In tokio's timer
//! wheel they would keep an entry for every waiting connection, and a worker that parks with
//! entries in the wheel reads the clock, arms a timeout for its `epoll_wait` and runs the
//! wheel on every wake, which at a token a wake is paid by every token. Here a thread of its
//! own wakes every [`TICK`] and wakes the deadlines that have passed, so a deadline is late by
//! at most a tick, and the workers park without a timeout.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How often the deadlines' thread looks for passed ones: how late one may be.
pub const TICK: Duration = Duration::from_millis(100);

/// The deadlines waited for, by when and a number each, with what wakes their task.
struct Waiting {
    next: u64,
    wakers: BTreeMap<(Instant, u64), Waker>,
}

static WAITING: Mutex<Waiting> = Mutex::new(Waiting {
    next: 0,
    wakers: BTreeMap::new(),
});

/// The waiting deadlines; a panic elsewhere cannot leave them torn (each change is one call).
fn waiting() -> MutexGuard<'static, Waiting> {
    WAITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the deadlines' thread the first time; whether it runs. Without it, deadlines fall
/// back to tokio's timer.
pub fn start() -> bool {
    static TICKING: OnceLock<bool> = OnceLock::new();
    *TICKING.get_or_init(|| {
        std::thread::Builder::new()
            .name("deadlines".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(TICK);
                    wake_passed(Instant::now());
                }
            })
            .is_ok()
    })
}

/// Wakes, outside the lock, every deadline at or before `now`, and forgets them.
fn wake_passed(now: Instant) {
    let passed = {
        let mut waiting = waiting();
        let later = waiting.wakers.split_off(&(now, u64::MAX));
        std::mem::replace(&mut waiting.wakers, later)
    };
    for waker in passed.into_values() {
        waker.wake();
    }
}

/// A future ready once its instant has passed, seen within a [`TICK`] of it.
#[derive(Debug)]
pub struct Deadline {
    at: Instant,
    how: How,
}

#[derive(Debug)]
enum How {
    /// Not yet waited for, or waiting under this key.
    Coarse(Option<(Instant, u64)>),
    /// The deadlines' thread could not start.
    Tokio(Pin<Box<tokio::time::Sleep>>),
}

impl Deadline {
    pub fn after(duration: Duration) -> Self {
        let now = Instant::now();
        Deadline::at(
            now.checked_add(duration)
                .unwrap_or(now + Duration::from_secs(86_400)),
        )
    }

    pub fn at(at: Instant) -> Self {
        let how = if start() {
            How::Coarse(None)
        } else {
            How::Tokio(Box::pin(tokio::time::sleep_until(at.into())))
        };
        Deadline { at, how }
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let at = self.at;
        let key = match &mut self.how {
            How::Tokio(sleep) => return sleep.as_mut().poll(cx),
            How::Coarse(key) => key,
        };
        if Instant::now() >= at {
            if let Some(key) = key.take() {
                waiting().wakers.remove(&key);
            }
            return Poll::Ready(());
        }
        let mut waiting = waiting();
        let key = *key.get_or_insert_with(|| {
            waiting.next += 1;
            (at, waiting.next)
        });
        match waiting.wakers.entry(key) {
            Entry::Occupied(mut waker) => waker.get_mut().clone_from(cx.waker()),
            Entry::Vacant(waker) => {
                waker.insert(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let How::Coarse(Some(key)) = &self.how {
            waiting().wakers.remove(key);
        }
    }
}

impl hyper::rt::Sleep for Deadline {}

/// hyper's timer (its header-read timeout) on [`Deadline`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoarseTimer;

impl hyper::rt::Timer for CoarseTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Deadline::after(duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Deadline::at(deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_waiting(deadline: &Deadline) -> bool {
        match &deadline.how {
            How::Coarse(Some(key)) => waiting().wakers.contains_key(key),
            _ => false,
        }
    }

    #[tokio::test]
    async fn a_deadline_passed_is_ready_at_once_and_waits_for_nothing() {
        let mut deadline = Deadline::at(Instant::now());
        assert_eq!(futures_poll(&mut deadline), Poll::Ready(()));
        assert!(!is_waiting(&deadline));
    }

    #[tokio::test]
    async fn a_deadline_wakes_its_task_after_its_instant_and_about_a_tick_late_at_most() {
        let started = Instant::now();
        let wait = Duration::from_millis(150);
        tokio::time::timeout(wait + 10 * TICK, Deadline::after(wait))
            .await
            .unwrap();
        let waited = started.elapsed();
        assert!(waited >= wait, "{waited:?}");
        // A tick late at most, and two more for a busy machine's scheduling.
        assert!(waited <= wait + TICK + 2 * TICK, "{waited:?}");
    }

    #[tokio::test]
    async fn a_deadline_dropped_while_it_waits_leaves_nothing_behind() {
        let mut deadline = Deadline::after(Duration::from_secs(60));
        assert_eq!(futures_poll(&mut deadline), Poll::Pending);
        assert!(is_waiting(&deadline));
        let key = match &deadline.how {
            How::Coarse(key) => key.unwrap(),
            How::Tokio(_) => unreachable!("the thread runs"),
        };
        drop(deadline);
        assert!(!waiting().wakers.contains_key(&key));
    }

    fn futures_poll(deadline: &mut Deadline) -> Poll<()> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(deadline).poll(&mut cx)
    }
}
