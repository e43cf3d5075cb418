//! The check event bus: every round the outside checks finish and every
//! status change they announce, broadcast to the sinks (the live hub, the
//! store, the remote write, the recent rounds), and the latest state of
//! each check for anyone to read (the health rollup, the queries).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use app::checks::{BreakerState, CheckState, Transition};
use app::health::ComponentHealth;
use tokio::sync::broadcast;

/// How many events a slow subscriber may fall behind before it lags.
const EVENTS: usize = 1024;

/// What the checks publish.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckEvent {
    /// A check finished a round (also while its breaker is open), or its
    /// breaker turned half-open for a trial probe.
    Round(Arc<CheckState>),
    /// A check's announced status changed (after flap damping). Sent just
    /// before the [`CheckEvent::Round`] that carries the new status.
    Transition(Arc<Transition>),
}

/// The checks' latest states and their event stream.
pub struct CheckBus {
    states: RwLock<Vec<Arc<CheckState>>>,
    index: HashMap<String, usize>,
    tx: broadcast::Sender<CheckEvent>,
}

impl CheckBus {
    /// A bus for these checks, each starting in the state given (in
    /// config order).
    pub(crate) fn new(initial: Vec<CheckState>) -> Arc<CheckBus> {
        let index = initial.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let (tx, _) = broadcast::channel(EVENTS);
        Arc::new(CheckBus {
            states: RwLock::new(initial.into_iter().map(Arc::new).collect()),
            index,
            tx,
        })
    }

    /// The latest state of every check, in config order.
    pub fn snapshot(&self) -> Vec<CheckState> {
        self.read().iter().map(|s| CheckState::clone(s)).collect()
    }

    /// The latest state of one check.
    pub fn get(&self, name: &str) -> Option<CheckState> {
        let i = *self.index.get(name)?;
        self.read().get(i).map(|s| CheckState::clone(s))
    }

    /// Every round and transition from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CheckEvent> {
        self.tx.subscribe()
    }

    /// One rollup component per check (its name, announced status and
    /// latest reason), for the health rollup.
    pub(crate) fn components(&self) -> Vec<ComponentHealth> {
        self.read()
            .iter()
            .map(|s| ComponentHealth {
                name: s.name.clone(),
                status: s.status,
                reason: s.reason.clone(),
            })
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<CheckState>>> {
        self.states.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Shows a trial in flight: the check's latest state with its breaker
    /// half-open, stored and broadcast.
    pub(crate) fn half_open(&self, index: usize) {
        let state = {
            let mut states = self.states.write().unwrap_or_else(|e| e.into_inner());
            let Some(slot) = states.get_mut(index) else {
                return;
            };
            let mut state = CheckState::clone(slot);
            state.breaker = BreakerState::HalfOpen;
            *slot = Arc::new(state);
            slot.clone()
        };
        let _ = self.tx.send(CheckEvent::Round(state));
    }

    /// Stores a check's new state and broadcasts it, after its transition
    /// when its announced status changed.
    pub(crate) fn publish(&self, index: usize, state: CheckState, transition: Option<Arc<Transition>>) {
        let state = Arc::new(state);
        if let Some(slot) = self.states.write().unwrap_or_else(|e| e.into_inner()).get_mut(index) {
            *slot = state.clone();
        }
        // No subscribers is fine.
        if let Some(t) = transition {
            let _ = self.tx.send(CheckEvent::Transition(t));
        }
        let _ = self.tx.send(CheckEvent::Round(state));
    }
}
