//! Fault injection, configurable at run time and deterministic for a given seed.
//!
//! Faults apply to requests selected by a [`FaultTarget`] (by default every request except the
//! simulated operator's). Kinds: an error response (500, 503, 429 with `Retry-After`), a delay
//! before handling (longer than a client's timeout = a timeout), added latency, forced 409
//! conflicts on writes, a forced 410 on the next watch, and dropping every open watch stream.
//! Random decisions come from a seeded RNG, so a test that sets a seed sees the same faults on
//! the same request sequence.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio_util::sync::CancellationToken;

use crate::request_log::Verb;

/// An injected failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// 500 InternalError.
    InternalError,
    /// 503 ServiceUnavailable.
    ServiceUnavailable,
    /// 429 TooManyRequests with `Retry-After` (and `details.retryAfterSeconds`).
    TooManyRequests {
        /// Seconds the client is told to wait.
        retry_after_seconds: u32,
    },
    /// The request is handled normally, but only after this delay (set it longer than the
    /// client's read timeout to simulate a timeout).
    Delay(Duration),
}

/// Which requests faults apply to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultTarget {
    /// Only these verbs (`None` = all).
    pub verbs: Option<Vec<Verb>>,
    /// Only these resources by plural (`None` = all, including non-resource requests).
    pub resources: Option<Vec<String>>,
    /// Whether the simulated operator's requests are eligible too.
    pub include_operator: bool,
}

/// The attributes faults are decided on.
pub(crate) struct FaultSubject<'a> {
    pub verb: Verb,
    pub resource: &'a str,
    pub from_operator: bool,
}

impl FaultTarget {
    fn selects(&self, s: &FaultSubject<'_>) -> bool {
        (self.include_operator || !s.from_operator)
            && self.verbs.as_ref().is_none_or(|v| v.contains(&s.verb))
            && self
                .resources
                .as_ref()
                .is_none_or(|r| r.iter().any(|r| r == s.resource))
    }
}

struct State {
    rng: StdRng,
    seed: u64,
    error_rate: f64,
    rate_kind: FaultKind,
    fail_next: VecDeque<FaultKind>,
    latency: Duration,
    conflicts: u32,
    gone_watches: u32,
    target: FaultTarget,
}

/// The fault switchboard of one server (see [`crate::TestApiServer::faults`]).
pub struct Faults {
    state: Mutex<State>,
    watch_drop: Mutex<CancellationToken>,
    /// Requests answered with an injected error status so far (kept across [`Faults::reset`]).
    injected_errors: AtomicU64,
}

/// What to do with one request.
pub(crate) struct Decision {
    pub latency: Duration,
    pub fault: Option<FaultKind>,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(State {
                rng: StdRng::seed_from_u64(seed),
                seed,
                error_rate: 0.0,
                rate_kind: FaultKind::ServiceUnavailable,
                fail_next: VecDeque::new(),
                latency: Duration::ZERO,
                conflicts: 0,
                gone_watches: 0,
                target: FaultTarget::default(),
            }),
            watch_drop: Mutex::new(CancellationToken::new()),
            injected_errors: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Fails each selected request with probability `rate` (0.0..=1.0) with `kind`.
    pub fn set_error_rate(&self, rate: f64, kind: FaultKind) {
        let mut s = self.lock();
        s.error_rate = rate.clamp(0.0, 1.0);
        s.rate_kind = kind;
    }

    /// Fails the next `n` selected requests with `kind` (before any random faults).
    pub fn fail_next(&self, n: u32, kind: FaultKind) {
        let mut s = self.lock();
        s.fail_next.extend(std::iter::repeat_n(kind, n as usize));
    }

    /// Adds `latency` to every selected request.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Answers the next `n` selected updates/patches with 409 Conflict. Replaces any still
    /// pending rather than adding to them: a test calling this on a timer must not pile up
    /// conflicts while nobody writes, until every write of a quiet client fails.
    pub fn conflict_next_writes(&self, n: u32) {
        self.lock().conflicts = n;
    }

    /// Answers the next selected watch with a 410 Expired `ERROR` event.
    pub fn expire_next_watch(&self) {
        self.lock().gone_watches += 1;
    }

    /// Ends every open watch stream now (clients see the stream close and re-watch).
    pub fn drop_watches(&self) {
        let mut token = match self.watch_drop.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        token.cancel();
        *token = CancellationToken::new();
    }

    /// Restricts which requests faults apply to.
    pub fn set_target(&self, target: FaultTarget) {
        self.lock().target = target;
    }

    /// How many requests were given an injected error answer (500, 503 or 429, from
    /// [`Faults::set_error_rate`] or [`Faults::fail_next`]) since the server started; delays,
    /// conflicts and watch faults are not counted, and [`Faults::reset`] does not clear it.
    pub fn injected_errors(&self) -> u64 {
        self.injected_errors.load(Ordering::Relaxed)
    }

    /// Clears every fault (and re-seeds the RNG with the original seed).
    pub fn reset(&self) {
        let mut s = self.lock();
        let seed = s.seed;
        *s = State {
            rng: StdRng::seed_from_u64(seed),
            seed,
            error_rate: 0.0,
            rate_kind: FaultKind::ServiceUnavailable,
            fail_next: VecDeque::new(),
            latency: Duration::ZERO,
            conflicts: 0,
            gone_watches: 0,
            target: FaultTarget::default(),
        };
    }

    pub(crate) fn decide(&self, subject: &FaultSubject<'_>) -> Decision {
        let mut s = self.lock();
        if !s.target.selects(subject) {
            return Decision {
                latency: Duration::ZERO,
                fault: None,
            };
        }
        let latency = s.latency;
        let mut fault = s.fail_next.pop_front();
        if fault.is_none() && s.error_rate > 0.0 {
            let roll: f64 = s.rng.random();
            if roll < s.error_rate {
                fault = Some(s.rate_kind.clone());
            }
        }
        if fault
            .as_ref()
            .is_some_and(|f| !matches!(f, FaultKind::Delay(_)))
        {
            self.injected_errors.fetch_add(1, Ordering::Relaxed);
        }
        Decision { latency, fault }
    }

    pub(crate) fn take_conflict(&self, subject: &FaultSubject<'_>) -> bool {
        let mut s = self.lock();
        if s.conflicts > 0
            && matches!(subject.verb, Verb::Update | Verb::Patch)
            && s.target.selects(subject)
        {
            s.conflicts -= 1;
            return true;
        }
        false
    }

    pub(crate) fn take_expired_watch(&self, subject: &FaultSubject<'_>) -> bool {
        let mut s = self.lock();
        if s.gone_watches > 0 && subject.verb == Verb::Watch && s.target.selects(subject) {
            s.gone_watches -= 1;
            return true;
        }
        false
    }

    pub(crate) fn watch_drop_token(&self) -> CancellationToken {
        match self.watch_drop.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}
