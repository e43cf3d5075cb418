//! Webhooks: every announced transition is POSTed as JSON
//! (`{"check", "from", "to", "reason", "ts"}`, an [`app::checks::Transition`])
//! to each `[[notify]]` URL, with a timeout and retries with backoff.
//!
//! Each webhook has its own task and queue, so a slow or dead receiver
//! never holds up a check (the scheduler only `try_send`s) nor another
//! webhook, and transitions reach each receiver in order. A check that
//! starts healthy (`unknown` -> `up`) is not news and is not sent.

use std::sync::Arc;
use std::time::Duration;

use app::checks::Transition;
use app::health::Status;
use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::NotifyConfig;
use crate::outbound::describe_error;

/// Transitions a webhook may have waiting; more are dropped (and logged).
pub(crate) const QUEUE: usize = 256;

/// Hands transitions to the webhook tasks.
#[derive(Clone, Default)]
pub struct Notifier {
    hooks: Vec<mpsc::Sender<Arc<Transition>>>,
}

/// Whether a transition is worth telling anyone about.
pub fn worth_sending(t: &Transition) -> bool {
    !(t.from == Status::Unknown && t.to == Status::Up)
}

impl Notifier {
    /// Queues `t` for every webhook, without waiting.
    pub(crate) fn send(&self, t: &Arc<Transition>) {
        if !worth_sending(t) {
            return;
        }
        for hook in &self.hooks {
            if let Err(mpsc::error::TrySendError::Full(_)) = hook.try_send(t.clone()) {
                tracing::warn!(check = %t.check, "webhook queue full: transition dropped");
            }
        }
    }
}

/// Starts one delivery task per webhook; they stop on `shutdown`.
pub fn start(
    configs: &[NotifyConfig],
    client: reqwest::Client,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> Notifier {
    let hooks = configs
        .iter()
        .map(|config| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tasks.spawn(run(config.clone(), client.clone(), rx, shutdown.clone()));
            tx
        })
        .collect();
    Notifier { hooks }
}

async fn run(
    config: NotifyConfig,
    client: reqwest::Client,
    mut rx: mpsc::Receiver<Arc<Transition>>,
    shutdown: CancellationToken,
) {
    let host = host_of(&config.url);
    loop {
        let transition = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            t = rx.recv() => match t {
                Some(t) => t,
                None => break,
            },
        };
        let delivered = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            d = deliver(&client, &config, &transition) => d,
        };
        match delivered {
            Ok(attempts) => {
                tracing::debug!(%host, check = %transition.check, attempts, "webhook delivered")
            }
            Err(why) => {
                tracing::warn!(%host, check = %transition.check, %why, "webhook not delivered; giving up")
            }
        }
    }
}

/// Delays between delivery attempts: 500 ms, 1 s, 2 s, ... up to 30 s, with
/// jitter (see `retry::backoff`).
pub(crate) fn backoff(retries: u32) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .with_max_times(retries as usize)
}

/// POSTs `t` until a 2xx answer or the retries run out; the attempts it took.
pub async fn deliver(client: &reqwest::Client, config: &NotifyConfig, t: &Transition) -> Result<u32, String> {
    let mut delays = backoff(config.retries).build();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let why = match client.post(&config.url).timeout(config.timeout).json(t).send().await {
            Ok(res) if res.status().is_success() => return Ok(attempts),
            Ok(res) => format!("HTTP {}", res.status().as_u16()),
            Err(err) => describe_error(&err, config.timeout),
        };
        match delays.next() {
            Some(delay) => {
                tracing::debug!(%why, ?delay, "webhook attempt failed; retrying");
                tokio::time::sleep(delay).await;
            }
            None => return Err(format!("{why} ({attempts} attempts)")),
        }
    }
}

/// The host of a webhook URL, for logs (the path often holds a token).
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_start_is_not_news() {
        let t = |from, to| Transition {
            check: "x".into(),
            from,
            to,
            reason: String::new(),
            ts: 0,
        };
        assert!(!worth_sending(&t(Status::Unknown, Status::Up)));
        assert!(worth_sending(&t(Status::Unknown, Status::Down)));
        assert!(worth_sending(&t(Status::Up, Status::Degraded)));
        assert!(worth_sending(&t(Status::Down, Status::Up)));
    }

    #[test]
    fn logs_name_the_host_only() {
        assert_eq!(
            host_of("https://hooks.example.com/services/T0/B0/SECRET"),
            "hooks.example.com"
        );
        assert_eq!(host_of("not a url"), "");
    }
}
