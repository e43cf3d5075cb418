//! Every check as the page shows it: the latest state, the last rounds (for
//! sparklines and the latency chart) and the recent transitions. Seeded from
//! the server functions, then moved along by `checks` frames. Plain data, so
//! the merging rules are unit-tested without a browser.

use std::collections::VecDeque;

use super::{CheckDetail, CheckState, CheckSummary, ChecksUpdate, Round, Transition, Uptime};

/// Rounds kept per check in the page (and sent with the list).
pub const RECENT_ROUNDS: usize = 120;
/// Transitions kept per check in the page.
const TRANSITIONS: usize = 50;

/// One check in the page.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckLive {
    pub state: CheckState,
    /// Oldest first, at most [`RECENT_ROUNDS`].
    pub rounds: VecDeque<Round>,
    /// Oldest first.
    pub transitions: VecDeque<Transition>,
    /// From the last server answer; `None` until one arrived.
    pub uptime: Option<Uptime>,
}

impl CheckLive {
    fn new(state: CheckState) -> CheckLive {
        let mut live = CheckLive {
            rounds: VecDeque::new(),
            transitions: VecDeque::new(),
            uptime: None,
            state: state.clone(),
        };
        live.push_round(&state);
        live
    }

    /// Appends the round a state reports, unless it is already the last
    /// one (a half-open notice repeats the last round's time).
    fn push_round(&mut self, state: &CheckState) {
        let Some(round) = Round::of(state) else { return };
        if self.rounds.back().is_some_and(|r| r.ts >= round.ts) {
            return;
        }
        self.rounds.push_back(round);
        while self.rounds.len() > RECENT_ROUNDS {
            self.rounds.pop_front();
        }
    }

    /// Takes a newer state; an older one (a stale answer) is ignored.
    fn update(&mut self, state: &CheckState) {
        if state.ts < self.state.ts {
            return;
        }
        self.push_round(state);
        self.state = state.clone();
    }

    /// Merges rounds from the server (oldest first) with what the page holds.
    fn merge_rounds(&mut self, rounds: &[Round]) {
        let mut all: Vec<Round> = rounds.iter().chain(self.rounds.iter()).copied().collect();
        all.sort_by_key(|r| r.ts);
        all.dedup_by_key(|r| r.ts);
        let skip = all.len().saturating_sub(RECENT_ROUNDS);
        self.rounds = all.into_iter().skip(skip).collect();
    }

    fn merge_transitions(&mut self, transitions: &[Transition]) {
        let mut all: Vec<Transition> = transitions.iter().chain(self.transitions.iter()).cloned().collect();
        all.sort_by_key(|t| t.ts);
        all.dedup_by(|a, b| a.ts == b.ts && a.to == b.to);
        let skip = all.len().saturating_sub(TRANSITIONS);
        self.transitions = all.into_iter().skip(skip).collect();
    }
}

/// Every check the page knows, in config order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckBoard {
    pub checks: Vec<CheckLive>,
    /// True once a full list from the server was applied: until then the
    /// board holds only the checks that frames happened to mention.
    pub listed: bool,
}

impl CheckBoard {
    pub fn get(&self, name: &str) -> Option<&CheckLive> {
        self.checks.iter().find(|c| c.state.name == name)
    }

    fn entry(&mut self, state: &CheckState) -> &mut CheckLive {
        match self.checks.iter().position(|c| c.state.name == state.name) {
            Some(i) => &mut self.checks[i],
            None => {
                self.checks.push(CheckLive::new(state.clone()));
                self.checks.last_mut().expect("just pushed")
            }
        }
    }

    /// Takes the server's list: its order and membership win (a check
    /// removed from the config disappears); newer live states are kept.
    pub fn seed_list(&mut self, list: &[CheckSummary]) {
        let mut old = std::mem::take(&mut self.checks);
        for item in list {
            let mut live = match old.iter().position(|c| c.state.name == item.state.name) {
                Some(i) => old.swap_remove(i),
                None => CheckLive::new(item.state.clone()),
            };
            live.merge_rounds(&item.recent);
            live.update(&item.state);
            live.uptime = Some(item.uptime);
            self.checks.push(live);
        }
        self.listed = true;
    }

    /// Takes one check's detail.
    pub fn seed_detail(&mut self, detail: &CheckDetail) {
        let live = self.entry(&detail.state);
        live.merge_rounds(&detail.rounds);
        live.merge_transitions(&detail.transitions);
        live.update(&detail.state);
        live.uptime = Some(detail.uptime);
    }

    /// Applies a `checks` frame.
    pub fn apply(&mut self, update: &ChecksUpdate) {
        for t in &update.transitions {
            if let Some(live) = self.checks.iter_mut().find(|c| c.state.name == t.check) {
                live.merge_transitions(std::slice::from_ref(t));
            }
        }
        for state in &update.states {
            self.entry(state).update(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{BreakerState, CheckKind};
    use crate::health::Status;

    fn state(name: &str, ts: i64, status: Status, latency: f64) -> CheckState {
        CheckState {
            name: name.into(),
            kind: CheckKind::Tcp,
            target: "127.0.0.1:1".into(),
            status,
            observed: status,
            reason: String::new(),
            latency_ms: Some(latency),
            subs: Vec::new(),
            breaker: BreakerState::Closed,
            ts,
            since: 0,
            consecutive_failures: 0,
        }
    }

    fn summary(name: &str, ts: i64) -> CheckSummary {
        CheckSummary {
            state: state(name, ts, Status::Up, 1.0),
            uptime: Uptime {
                day: Some(100.0),
                ..Default::default()
            },
            recent: vec![Round::of(&state(name, ts, Status::Up, 1.0)).unwrap()],
        }
    }

    #[test]
    fn frames_append_rounds_and_skip_repeats() {
        let mut board = CheckBoard::default();
        board.seed_list(&[summary("a", 10)]);
        let update = ChecksUpdate {
            states: vec![state("a", 20, Status::Down, 5.0)],
            transitions: vec![],
        };
        board.apply(&update);
        // The same round again (a half-open notice) adds nothing.
        board.apply(&update);
        let a = board.get("a").unwrap();
        assert_eq!(a.rounds.iter().map(|r| r.ts).collect::<Vec<_>>(), vec![10, 20]);
        assert_eq!(a.state.status, Status::Down);
        assert_eq!(a.uptime.unwrap().day, Some(100.0));
    }

    #[test]
    fn an_older_answer_does_not_undo_a_newer_frame() {
        let mut board = CheckBoard::default();
        board.apply(&ChecksUpdate {
            states: vec![state("a", 30, Status::Down, 1.0)],
            transitions: vec![],
        });
        assert!(!board.listed);
        board.seed_list(&[summary("a", 10), summary("b", 10)]);
        assert!(board.listed);
        assert_eq!(board.get("a").unwrap().state.ts, 30, "the newer live state stays");
        assert_eq!(
            board.get("a").unwrap().rounds.iter().map(|r| r.ts).collect::<Vec<_>>(),
            vec![10, 30]
        );
        // The list's order wins; a check the list lacks is dropped.
        board.seed_list(&[summary("b", 10)]);
        assert_eq!(board.checks.len(), 1);
        assert_eq!(board.checks[0].state.name, "b");
    }

    #[test]
    fn rounds_and_transitions_are_bounded_and_deduplicated() {
        let mut board = CheckBoard::default();
        for ts in 1..=(RECENT_ROUNDS as i64 + 10) {
            board.apply(&ChecksUpdate {
                states: vec![state("a", ts, Status::Up, 1.0)],
                transitions: vec![],
            });
        }
        let a = board.get("a").unwrap();
        assert_eq!(a.rounds.len(), RECENT_ROUNDS);
        assert_eq!(a.rounds.back().unwrap().ts, RECENT_ROUNDS as i64 + 10);
        let t = Transition {
            check: "a".into(),
            from: Status::Up,
            to: Status::Down,
            reason: "HTTP 503".into(),
            ts: 5,
        };
        let update = ChecksUpdate {
            states: vec![],
            transitions: vec![t.clone()],
        };
        board.apply(&update);
        board.apply(&update);
        assert_eq!(board.get("a").unwrap().transitions.len(), 1);
    }
}
