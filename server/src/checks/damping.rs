//! Flap damping: a check's announced status changes only once a new status
//! has been observed `confirm` rounds in a row. The first status after the
//! start (from `unknown`) is announced at once: there is nothing to flap from.

use app::health::Status;

/// One check's announced status.
#[derive(Clone, Debug)]
pub(crate) struct Damper {
    confirm: u32,
    announced: Status,
    pending: Option<(Status, u32)>,
}

impl Damper {
    pub(crate) fn new(confirm: u32) -> Damper {
        Damper {
            confirm: confirm.max(1),
            announced: Status::Unknown,
            pending: None,
        }
    }

    /// The status as announced so far.
    pub(crate) fn announced(&self) -> Status {
        self.announced
    }

    /// Takes one round's status; returns `(from, to)` when this round makes
    /// a change announced.
    pub(crate) fn observe(&mut self, status: Status) -> Option<(Status, Status)> {
        if status == self.announced {
            self.pending = None;
            return None;
        }
        let seen = match self.pending {
            Some((pending, n)) if pending == status => n + 1,
            _ => 1,
        };
        if self.announced == Status::Unknown || seen >= self.confirm {
            let from = self.announced;
            self.announced = status;
            self.pending = None;
            Some((from, status))
        } else {
            self.pending = Some((status, seen));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    fn run(confirm: u32, rounds: &[Status]) -> Vec<Option<(Status, Status)>> {
        let mut d = Damper::new(confirm);
        rounds.iter().map(|s| d.observe(*s)).collect()
    }

    #[test]
    fn the_first_status_is_announced_at_once() {
        assert_eq!(run(3, &[Up, Up]), [Some((Unknown, Up)), None]);
    }

    #[test]
    fn a_change_must_hold_confirm_rounds() {
        assert_eq!(
            run(2, &[Up, Down, Down, Down, Up, Up]),
            [
                Some((Unknown, Up)),
                None,
                Some((Up, Down)),
                None,
                None,
                Some((Down, Up))
            ]
        );
    }

    #[test]
    fn a_blip_is_not_announced() {
        assert_eq!(
            run(2, &[Up, Down, Up, Down, Up]),
            [Some((Unknown, Up)), None, None, None, None]
        );
    }

    #[test]
    fn a_different_new_status_starts_counting_again() {
        let mut d = Damper::new(2);
        d.observe(Up);
        assert_eq!(d.observe(Degraded), None);
        assert_eq!(d.observe(Down), None, "degraded then down: neither held twice");
        assert_eq!(d.observe(Down), Some((Up, Down)));
        assert_eq!(d.announced(), Down);
    }

    #[test]
    fn confirm_one_announces_every_change() {
        assert_eq!(
            run(1, &[Up, Down, Up]),
            [Some((Unknown, Up)), Some((Up, Down)), Some((Down, Up))]
        );
    }
}
