//! The argon2 pool: a fixed set of worker threads, each reusing one memory block for the process's
//! life, fed by two bounded lanes that they serve in turn, so that a flood of wrong client secrets
//! cannot starve logins nor a flood of logins starve client authentication, and neither can stall
//! the async runtime or grow memory (docs/design.md, "Load, faults and bad input").

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use argon2::Params;
use argon2::password_hash::PasswordHash;
use prometheus_client::metrics::counter::Counter;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::oneshot;

use crate::failure::Failure;

/// How long a verification may wait in its lane for a worker before the request is shed.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// Places in each lane per worker: at 40-80 ms a verification, about what the workers get
/// through within [`QUEUE_TIMEOUT`] when both lanes are busy. Beyond that a request is shed
/// at once rather than after waiting 5 s.
const LANE_CAPACITY_PER_WORKER: usize = 64;

/// What a verification is for; each has its own queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Client secrets (RFC 6749 §2.3.1).
    Secrets,
    /// User passwords (password grant and login form).
    Passwords,
}

impl Lane {
    fn other(self) -> Lane {
        match self {
            Lane::Secrets => Lane::Passwords,
            Lane::Passwords => Lane::Secrets,
        }
    }
}

pub struct Argon2Pool {
    queue: Arc<Queue>,
    workers: usize,
    /// A hash of a random password with the users' parameters: unknown usernames are verified
    /// against it so they cost the same time as known ones (docs/design.md, "Load, faults and bad
    /// input").
    dummy_hash: String,
}

impl Argon2Pool {
    /// Starts the workers. `like` is a PHC string whose parameters the dummy hash copies;
    /// each run of argon2 increments `verifications`.
    pub fn new(like: Option<&str>, verifications: Counter) -> Result<Self, super::HashError> {
        let params = like
            .and_then(|h| PasswordHash::new(h).ok())
            .and_then(|h| Params::try_from(&h).ok())
            .unwrap_or_default();
        let mut password = [0u8; 32];
        SystemRandom::new()
            .fill(&mut password)
            .map_err(|_| super::HashError::Random)?;
        let dummy_hash = super::hash_with(&password, params)?;
        // Half the cores, at least one: the rest keep serving tokens while argon2 runs.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = (cores / 2).max(1);
        let queue = Arc::new(Queue {
            lanes: Mutex::new(Lanes::default()),
            work: Condvar::new(),
            capacity: workers * LANE_CAPACITY_PER_WORKER,
        });
        for n in 0..workers {
            let (queue, verifications) = (queue.clone(), verifications.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&queue, &verifications))
                .map_err(super::HashError::Worker)?;
        }
        Ok(Argon2Pool {
            queue,
            workers,
            dummy_hash,
        })
    }

    /// The number of worker threads, each holding one argon2 memory block once used.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Verifications waiting in `lane` for a worker.
    pub fn waiting(&self, lane: Lane) -> usize {
        self.queue.lock().lane(lane).len()
    }

    /// Verifies a user's `password` against `hash`, or against the dummy hash when `hash`
    /// is `None` (the answer is then always `false`, after the same work).
    #[tracing::instrument(level = "debug", name = "argon2.password", skip_all)]
    pub async fn verify_password(
        &self,
        hash: Option<&str>,
        password: &str,
    ) -> Result<bool, Failure> {
        let matches = self
            .verify(Lane::Passwords, hash.unwrap_or(&self.dummy_hash), password)
            .await?;
        Ok(hash.is_some() && matches)
    }

    /// Verifies a client's `secret` against its `hash`.
    #[tracing::instrument(level = "debug", name = "argon2.secret", skip_all)]
    pub async fn verify_secret(&self, hash: &str, secret: &str) -> Result<bool, Failure> {
        self.verify(Lane::Secrets, hash, secret).await
    }

    /// Queues the verification in `lane` and awaits a worker's answer. A full lane, or a
    /// wait past [`QUEUE_TIMEOUT`] before a worker takes it, is `temporarily_unavailable`.
    async fn verify(&self, lane: Lane, hash: &str, secret: &str) -> Result<bool, Failure> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            hash: hash.to_owned(),
            secret: secret.to_owned(),
            deadline: Instant::now() + QUEUE_TIMEOUT,
            reply,
        };
        self.queue.push(lane, job)?;
        answer
            .await
            .map_err(|_| Failure::unavailable("argon2 queue: not served in time"))
    }
}

impl Drop for Argon2Pool {
    /// Lets the workers finish and free their memory (the process's pool lives until exit;
    /// tests start many).
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.work.notify_all();
    }
}

struct Job {
    hash: String,
    secret: String,
    /// Shed, without running argon2, if no worker has taken it by then.
    deadline: Instant,
    reply: oneshot::Sender<bool>,
}

struct Queue {
    lanes: Mutex<Lanes>,
    /// Signalled for each job queued, and when the pool closes.
    work: Condvar,
    /// Jobs each lane may hold.
    capacity: usize,
}

#[derive(Default)]
struct Lanes {
    secrets: VecDeque<Job>,
    passwords: VecDeque<Job>,
    /// The lane a job was last taken from: when both have work, the other goes next.
    last: Option<Lane>,
    closed: bool,
}

impl Lanes {
    fn lane(&mut self, lane: Lane) -> &mut VecDeque<Job> {
        match lane {
            Lane::Secrets => &mut self.secrets,
            Lane::Passwords => &mut self.passwords,
        }
    }

    /// The next job, from each lane in turn while both have work.
    fn take(&mut self) -> Option<Job> {
        let lane = match (self.secrets.is_empty(), self.passwords.is_empty()) {
            (true, true) => return None,
            (false, true) => Lane::Secrets,
            (true, false) => Lane::Passwords,
            (false, false) => self.last.map_or(Lane::Secrets, Lane::other),
        };
        self.last = Some(lane);
        self.lane(lane).pop_front()
    }
}

impl Queue {
    /// Never poisoned in practice: nothing that can panic runs under the lock.
    fn lock(&self) -> MutexGuard<'_, Lanes> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, lane: Lane, job: Job) -> Result<(), Failure> {
        let mut lanes = self.lock();
        if lanes.closed {
            return Err(Failure::internal("argon2 pool closed"));
        }
        let queue = lanes.lane(lane);
        if queue.len() >= self.capacity {
            return Err(Failure::unavailable("argon2 queue full"));
        }
        queue.push_back(job);
        drop(lanes);
        self.work.notify_one();
        Ok(())
    }

    /// Blocks until there is a job; `None` once the pool is dropped.
    fn next(&self) -> Option<Job> {
        let mut lanes = self.lock();
        loop {
            if lanes.closed {
                return None;
            }
            if let Some(job) = lanes.take() {
                return Some(job);
            }
            lanes = self
                .work
                .wait(lanes)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A worker thread: one memory block, reused for every job. A job whose request is gone or
/// whose deadline has passed is dropped unrun (its sender with it: the request is shed).
fn work(queue: &Queue, verifications: &Counter) {
    let mut memory = Vec::new();
    while let Some(job) = queue.next() {
        if job.reply.is_closed() || Instant::now() > job.deadline {
            continue;
        }
        verifications.inc();
        let matches = super::verify_in(&job.hash, job.secret.as_bytes(), &mut memory);
        let _ = job.reply.send(matches);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn job(hash: &str) -> (Job, oneshot::Receiver<bool>) {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            hash: hash.to_owned(),
            secret: String::new(),
            deadline: Instant::now() + QUEUE_TIMEOUT,
            reply,
        };
        (job, answer)
    }

    #[test]
    fn workers_take_from_each_lane_in_turn_while_both_have_work() {
        let mut lanes = Lanes::default();
        let mut answers = Vec::new();
        for n in 0..4 {
            let (secret, a) = job(&format!("secret-{n}"));
            lanes.secrets.push_back(secret);
            answers.push(a);
        }
        for n in 0..2 {
            let (password, a) = job(&format!("password-{n}"));
            lanes.passwords.push_back(password);
            answers.push(a);
        }
        let order: Vec<String> = std::iter::from_fn(|| lanes.take())
            .map(|j| j.hash)
            .collect();
        assert_eq!(
            order,
            [
                "secret-0",
                "password-0",
                "secret-1",
                "password-1",
                "secret-2",
                "secret-3"
            ]
        );
    }

    #[test]
    fn a_full_lane_sheds_without_touching_the_other() {
        let queue = Queue {
            lanes: Mutex::new(Lanes::default()),
            work: Condvar::new(),
            capacity: 2,
        };
        let mut answers = Vec::new();
        for _ in 0..2 {
            let (j, a) = job("h");
            queue.push(Lane::Secrets, j).unwrap();
            answers.push(a);
        }
        let (j, _) = job("h");
        assert!(matches!(
            queue.push(Lane::Secrets, j),
            Err(Failure::Unavailable(_))
        ));
        let (j, _answer) = job("h");
        assert!(queue.push(Lane::Passwords, j).is_ok());
    }

    #[tokio::test]
    async fn a_job_past_its_deadline_is_shed_without_running_argon2() {
        let verifications = Counter::default();
        let pool = Argon2Pool::new(None, verifications.clone()).unwrap();
        let (mut late, answer) =
            job("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA");
        late.deadline = Instant::now() - Duration::from_millis(1);
        pool.queue.push(Lane::Passwords, late).unwrap();
        assert!(answer.await.is_err(), "shed: the reply is dropped");
        assert_eq!(verifications.get(), 0);
        assert!(!pool.verify_password(None, "x").await.unwrap());
        assert_eq!(verifications.get(), 1, "counted once it runs");
    }
}
