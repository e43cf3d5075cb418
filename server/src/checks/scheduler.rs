//! Runs every check on its own interval, one task per check, with at most
//! [`MAX_CONCURRENT_PROBES`] attempts in flight at once (a semaphore), so a
//! thousand checks cannot open a thousand sockets at the same instant. A
//! probe that hangs is cut at its timeout and never holds up the others.
//!
//! Each round goes: breaker gate -> retry round -> breaker record -> flap
//! damping -> publish on the [`CheckBus`], which keeps the latest
//! [`CheckState`] per check and broadcasts every round and every announced
//! transition as a [`CheckEvent`] (which the alerts engine reads).
//! Everything stops when the shutdown token is cancelled.

use std::sync::Arc;
use std::time::Duration;

use app::checks::{CheckState, Transition};
use app::health::Status;
use tokio::sync::Semaphore;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::breaker::{Breaker, Gate};
use super::config::CheckConfig;
use super::damping::Damper;
use super::{display_target, millis, probe_for, retry, ChecksError, Probe};
use crate::outbound::human;
use crate::signals::CheckBus;

/// At most this many probe attempts run at once, across all checks.
pub const MAX_CONCURRENT_PROBES: usize = 64;

/// How the checks run.
#[derive(Clone)]
pub struct Options {
    pub(crate) max_concurrent: usize,
    /// Shared by every HTTP and Ethereum probe and the webhooks.
    pub(crate) client: reqwest::Client,
}

impl Options {
    /// [`MAX_CONCURRENT_PROBES`] and [`super::http_client`].
    pub(crate) fn new() -> Result<Options, ChecksError> {
        Ok(Options {
            max_concurrent: MAX_CONCURRENT_PROBES,
            client: super::http_client()?,
        })
    }
}

/// Every configured check as `unknown`, "not checked yet": what the bus
/// holds before the first round.
pub fn initial_states(configs: &[CheckConfig]) -> Vec<CheckState> {
    configs
        .iter()
        .map(|c| CheckState {
            name: c.name.clone(),
            kind: c.kind,
            target: display_target(c),
            status: Status::Unknown,
            observed: Status::Unknown,
            reason: "not checked yet".into(),
            latency_ms: None,
            subs: Vec::new(),
            breaker: Default::default(),
            ts: 0,
            since: 0,
            consecutive_failures: 0,
        })
        .collect()
}

/// Starts every check; they run until `shutdown` is cancelled, as tasks
/// of `tasks`, publishing on the bus returned.
pub fn start(
    configs: &[CheckConfig],
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> Result<Arc<CheckBus>, ChecksError> {
    Ok(start_with(configs, Options::new()?, shutdown, tasks))
}

/// [`start`] with chosen options.
pub(crate) fn start_with(
    configs: &[CheckConfig],
    options: Options,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> Arc<CheckBus> {
    let checks = CheckBus::new(initial_states(configs));
    let permits = Arc::new(Semaphore::new(options.max_concurrent.max(1)));
    for (index, config) in configs.iter().enumerate() {
        let probe = probe_for(config, &options.client);
        tasks.spawn(run_check(
            CheckTask {
                checks: checks.clone(),
                index,
                config: config.clone(),
                permits: permits.clone(),
            },
            probe,
            shutdown.clone(),
        ));
    }
    if !configs.is_empty() {
        tracing::info!(checks = configs.len(), "health checks started");
    }
    checks
}

/// What one check's task needs besides its probe.
pub(crate) struct CheckTask {
    pub(crate) checks: Arc<CheckBus>,
    /// The check's position in the config (and in [`CheckBus::snapshot`]).
    pub(crate) index: usize,
    pub(crate) config: CheckConfig,
    pub(crate) permits: Arc<Semaphore>,
}

/// Runs one check round after round until `shutdown`.
pub(crate) async fn run_check(task: CheckTask, probe: Box<dyn Probe>, shutdown: CancellationToken) {
    let CheckTask {
        checks,
        index,
        config,
        permits,
    } = task;
    let mut breaker = Breaker::new(config.failure_threshold, config.reset_timeout);
    let mut damper = Damper::new(config.confirm);
    let mut since = 0;
    let mut last_reason = String::new();
    let mut last_subs = Vec::new();
    let mut ticker = tokio::time::interval(config.interval);
    // A round that overran (it cannot, see retry::round) delays the next
    // rather than bunching them up.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let gate = breaker.gate();
        if gate == Gate::Trial {
            checks.half_open(index);
        }
        let round = async {
            let retries = match gate {
                Gate::Wait(_) => return None,
                Gate::Trial => 0,
                Gate::Probe => config.retries,
            };
            let backoff = retry::backoff(retries);
            Some(retry::round(probe.as_ref(), config.timeout(), config.interval, backoff, &permits).await)
        };
        let round = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            r = round => r,
        };

        let ts = crate::signals::clock::now_ms();
        let (observed, reason, latency_ms, subs) = match (round, gate) {
            (Some(round), _) => {
                let o = round.outcome;
                breaker.record(o.status != Status::Down);
                last_reason = o.reason.clone();
                last_subs = o.subs.clone();
                (o.status, o.reason, Some(millis(o.latency)), o.subs)
            }
            (None, Gate::Wait(left)) => (
                Status::Down,
                format!(
                    "circuit open after {} failed rounds, next probe in {} (last: {last_reason})",
                    breaker.failures(),
                    human(Duration::from_secs(left.as_secs().max(1)))
                ),
                None,
                last_subs.clone(),
            ),
            (None, _) => continue,
        };

        let transition = damper.observe(observed).map(|(from, to)| {
            since = ts;
            Arc::new(Transition {
                check: config.name.clone(),
                from,
                to,
                reason: reason.clone(),
                ts,
            })
        });
        if let Some(t) = &transition {
            tracing::info!(check = %t.check, from = t.from.as_str(), to = t.to.as_str(), reason = %t.reason, "check status changed");
        } else {
            tracing::debug!(check = %config.name, status = observed.as_str(), %reason, "check round");
        }
        let state = CheckState {
            name: config.name.clone(),
            kind: config.kind,
            target: display_target(&config),
            status: damper.announced(),
            observed,
            reason,
            latency_ms,
            subs,
            breaker: breaker.state(),
            ts,
            since,
            consecutive_failures: breaker.failures(),
        };
        checks.publish(index, state, transition);
    }
    tracing::debug!(check = %config.name, "check stopped");
}

#[cfg(test)]
mod tests {
    use crate::signals::CheckEvent;
    use app::checks::BreakerState;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    use app::checks::CheckKind;
    use tokio::time::Instant;

    use super::super::Outcome;
    use super::*;

    /// A target whose health the test sets, counting the probes it gets.
    #[derive(Clone, Default)]
    struct Target {
        status: Arc<Mutex<Option<Status>>>,
        probes: Arc<AtomicU32>,
        hang: Arc<Mutex<bool>>,
    }

    impl Target {
        fn set(&self, s: Status) {
            *self.status.lock().unwrap() = Some(s);
        }
    }

    #[async_trait::async_trait]
    impl Probe for Target {
        async fn probe(&self) -> Outcome {
            self.probes.fetch_add(1, Ordering::SeqCst);
            if *self.hang.lock().unwrap() {
                std::future::pending::<()>().await;
            }
            match self.status.lock().unwrap().unwrap_or(Status::Up) {
                Status::Down => Outcome::down("HTTP 503"),
                s => Outcome::new(s, "fine"),
            }
        }
    }

    fn config(name: &str) -> CheckConfig {
        let mut c = CheckConfig::new(name, CheckKind::Http);
        c.url = Some("http://127.0.0.1:9/".into());
        c.interval = Duration::from_secs(10);
        c.timeout = Some(Duration::from_secs(2));
        c.retries = 0;
        c.failure_threshold = 2;
        c.reset_timeout = Duration::from_secs(60);
        c.confirm = 2;
        c
    }

    fn spawn(checks: &Arc<CheckBus>, index: usize, config: CheckConfig, target: &Target, shutdown: &CancellationToken) {
        tokio::spawn(run_check(
            CheckTask {
                checks: checks.clone(),
                index,
                config,
                permits: Arc::new(Semaphore::new(8)),
            },
            Box::new(target.clone()),
            shutdown.clone(),
        ));
    }

    /// Lets the check tasks run up to `t` on the paused clock.
    async fn until(start: Instant, t: Duration) {
        tokio::time::sleep_until(start + t).await;
        tokio::task::yield_now().await;
    }

    #[tokio::test(start_paused = true)]
    async fn damping_breaker_and_events_over_time() {
        let configs = [config("api")];
        let checks = CheckBus::new(initial_states(&configs));
        assert_eq!(checks.get("api").unwrap().reason, "not checked yet");
        let mut events = checks.subscribe();
        let target = Target::default();
        let shutdown = CancellationToken::new();
        let start = Instant::now();
        spawn(&checks, 0, configs[0].clone(), &target, &shutdown);

        // Round at 0 s: up, announced at once.
        until(start, Duration::from_secs(1)).await;
        let s = checks.get("api").unwrap();
        assert_eq!(
            (s.status, s.observed, s.breaker),
            (Status::Up, Status::Up, BreakerState::Closed)
        );
        match events.try_recv().unwrap() {
            CheckEvent::Transition(t) => assert_eq!((t.from, t.to), (Status::Unknown, Status::Up)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(events.try_recv().unwrap(), CheckEvent::Round(_)));

        // Down from 10 s: observed at once, announced after two rounds (20 s),
        // and the breaker opens with the second failure.
        target.set(Status::Down);
        until(start, Duration::from_secs(11)).await;
        let s = checks.get("api").unwrap();
        assert_eq!(
            (s.status, s.observed, s.consecutive_failures),
            (Status::Up, Status::Down, 1)
        );
        until(start, Duration::from_secs(21)).await;
        let s = checks.get("api").unwrap();
        assert_eq!(
            (s.status, s.breaker, s.consecutive_failures),
            (Status::Down, BreakerState::Open, 2)
        );
        assert!(s.since >= s.ts - 1 && s.since > 0);
        let transitions: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
            .filter_map(|e| match e {
                CheckEvent::Transition(t) => Some((t.from, t.to, t.reason.clone())),
                CheckEvent::Round(_) => None,
            })
            .collect();
        assert_eq!(transitions, [(Status::Up, Status::Down, "HTTP 503".to_string())]);

        // Open: rounds at 30..70 s do not probe.
        let probes = target.probes.load(Ordering::SeqCst);
        until(start, Duration::from_secs(71)).await;
        assert_eq!(
            target.probes.load(Ordering::SeqCst),
            probes,
            "an open breaker does not probe"
        );
        let s = checks.get("api").unwrap();
        assert_eq!(s.status, Status::Down);
        assert!(
            s.reason
                .starts_with("circuit open after 2 failed rounds, next probe in"),
            "{}",
            s.reason
        );
        assert!(s.reason.ends_with("(last: HTTP 503)"), "{}", s.reason);
        assert_eq!(s.latency_ms, None);

        // The target is back; the trial at 80 s (60 s after opening at 20 s)
        // closes the breaker; the status is announced after a second round.
        target.set(Status::Up);
        until(start, Duration::from_secs(81)).await;
        assert_eq!(target.probes.load(Ordering::SeqCst), probes + 1, "one trial probe");
        let s = checks.get("api").unwrap();
        assert_eq!(
            (s.status, s.observed, s.breaker),
            (Status::Down, Status::Up, BreakerState::Closed)
        );
        until(start, Duration::from_secs(91)).await;
        assert_eq!(checks.get("api").unwrap().status, Status::Up);

        shutdown.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_probe_is_cut_and_holds_up_no_other_check() {
        let configs = [config("stuck"), config("fine")];
        let checks = CheckBus::new(initial_states(&configs));
        let (stuck, fine) = (Target::default(), Target::default());
        *stuck.hang.lock().unwrap() = true;
        let shutdown = CancellationToken::new();
        let start = Instant::now();
        spawn(&checks, 0, configs[0].clone(), &stuck, &shutdown);
        spawn(&checks, 1, configs[1].clone(), &fine, &shutdown);
        until(start, Duration::from_millis(10)).await;
        assert_eq!(checks.get("fine").unwrap().status, Status::Up);
        assert_eq!(checks.get("stuck").unwrap().status, Status::Unknown, "still waiting");
        until(start, Duration::from_millis(2010)).await;
        let s = checks.get("stuck").unwrap();
        assert_eq!((s.status, s.reason.as_str()), (Status::Down, "timed out after 2 s"));
        let names: Vec<_> = checks.components().into_iter().map(|c| (c.name, c.status)).collect();
        assert_eq!(names, [("stuck".into(), Status::Down), ("fine".into(), Status::Up)]);
        shutdown.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_a_round_in_flight() {
        let configs = [config("stuck")];
        let checks = CheckBus::new(initial_states(&configs));
        let stuck = Target::default();
        *stuck.hang.lock().unwrap() = true;
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(run_check(
            CheckTask {
                checks: checks.clone(),
                index: 0,
                config: configs[0].clone(),
                permits: Arc::new(Semaphore::new(1)),
            },
            Box::new(stuck),
            shutdown.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
        shutdown.cancel();
        tokio::time::timeout(Duration::from_millis(10), handle)
            .await
            .expect("stops at once")
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_pool_bounds_attempts_in_flight() {
        // Ten hanging checks, two permits: two attempts at a time.
        let configs: Vec<_> = (0..10).map(|i| config(&format!("c{i}"))).collect();
        let checks = CheckBus::new(initial_states(&configs));
        let permits = Arc::new(Semaphore::new(2));
        let shutdown = CancellationToken::new();
        let targets: Vec<Target> = (0..10).map(|_| Target::default()).collect();
        for (i, (c, t)) in configs.iter().zip(&targets).enumerate() {
            *t.hang.lock().unwrap() = true;
            tokio::spawn(run_check(
                CheckTask {
                    checks: checks.clone(),
                    index: i,
                    config: c.clone(),
                    permits: permits.clone(),
                },
                Box::new(t.clone()),
                shutdown.clone(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let probing: u32 = targets.iter().map(|t| t.probes.load(Ordering::SeqCst)).sum();
        assert_eq!(probing, 2);
        assert_eq!(permits.available_permits(), 0);
        shutdown.cancel();
    }
}
