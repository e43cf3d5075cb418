//! Notification channels: each `[[notify]]` entry with its secret read,
//! its own queue and its own delivery task, so a slow or dead channel
//! holds up no other and no evaluation.
//!
//! A message is first written to the outbox (`alerts.db`), then handed to
//! the channel's task, which tries it with backoff (1 s, doubling, at
//! most 5 min apart, with jitter) until it is delivered or the channel's
//! `retries` run out; only then does it leave the outbox. A restart, or a
//! channel down for a while, delays messages; it does not drop them.
//!
//! - [`requests`]: the HTTP request each service documents;
//! - [`email`]: email over SMTP.

pub(crate) mod email;
pub(crate) mod requests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::alerts::{ChannelView, Delivery};
use backon::{BackoffBuilder, ExponentialBuilder};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::requests::{Body, Outgoing};
use super::config::{NotifyConfig, NotifyKind};
use super::message::Message;
use super::store::AlertStore;
use crate::outbound::describe_error;

/// Messages a channel may have waiting; more are dropped (and logged).
const QUEUE: usize = 4096;

/// The longest pause between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(300);

/// A secret that never prints.
#[derive(Clone)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// One channel: its config and what was read for it at start.
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) name: String,
    pub(crate) config: NotifyConfig,
    secret: Option<Secret>,
    /// email: the PEM of `ca_file`.
    ca: Option<Vec<u8>>,
}

impl Channel {
    /// Reads the channel's secret and CA file; the error names the file
    /// or variable, never the secret.
    pub(crate) fn open(name: &str, config: &NotifyConfig) -> Result<Channel, String> {
        let secret = match (&config.secret_file, &config.secret_env) {
            (Some(path), _) => Some(
                crate::private::read_secret(path)
                    .map_err(|e| format!("notify {name:?}: cannot read secret_file {}: {e}", path.display()))?,
            ),
            (None, Some(var)) => Some(
                std::env::var(var)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| format!("notify {name:?}: ${var} (secret_env) is not set"))?,
            ),
            (None, None) => None,
        };
        let ca = match &config.ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| format!("notify {name:?}: cannot read ca_file {}: {e}", path.display()))?,
            ),
            None => None,
        };
        Ok(Channel {
            name: name.to_string(),
            config: config.clone(),
            secret: secret.map(Secret),
            ca,
        })
    }

    /// Where it delivers, without secrets: the URL's host, or the
    /// addresses of an email.
    pub(crate) fn target(&self) -> String {
        if self.config.kind == NotifyKind::Email {
            let to = self.config.to.as_deref().unwrap_or_default().join(", ");
            return format!("{to} via {}", self.config.host.as_deref().unwrap_or_default());
        }
        let default = match self.config.kind {
            NotifyKind::Ntfy => "https://ntfy.sh",
            NotifyKind::Telegram => "https://api.telegram.org",
            NotifyKind::Pushover => "https://api.pushover.net",
            _ => "",
        };
        let url = self.config.url.as_deref().unwrap_or(default);
        reqwest::Url::parse(url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| u.port().map_or_else(|| h.to_string(), |p| format!("{h}:{p}")))
            })
            .unwrap_or_default()
    }

    /// One attempt: the service's answer in words, or why it failed.
    pub(crate) async fn send_once(&self, client: &reqwest::Client, m: &Message, key: &str) -> Result<String, String> {
        let timeout = self.config.timeout;
        let secret = self.secret.as_ref().map(|s| s.0.as_str());
        if self.config.kind == NotifyKind::Email {
            return email::send(&self.config, secret, self.ca.as_deref(), m, timeout).await;
        }
        let Outgoing {
            method,
            url,
            headers,
            body,
        } = requests::request(&self.config, secret, m, key)?;
        let mut request = client
            .request(method, &url)
            .timeout(timeout)
            .header(reqwest::header::USER_AGENT, crate::outbound::USER_AGENT);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request = match body {
            Body::Json(value) => request.json(&value),
            Body::Text { content_type, text } => request.header(reqwest::header::CONTENT_TYPE, content_type).body(text),
        };
        let started = Instant::now();
        let response = request.send().await.map_err(|e| describe_error(&e, timeout))?;
        let status = response.status();
        let took = crate::outbound::human(started.elapsed());
        if status.is_success() {
            return Ok(format!("HTTP {} in {took}", status.as_u16()));
        }
        // The service's own words help most ("chat not found").
        let text = tokio::time::timeout(Duration::from_secs(2), response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let detail = crate::checks::snippet(&text, 200);
        Err(if detail.is_empty() {
            format!("HTTP {}", status.as_u16())
        } else {
            format!("HTTP {}: {detail}", status.as_u16())
        })
    }
}

/// The channel label of the notification counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ChannelLabel {
    pub(crate) channel: String,
}

/// `/metrics`: notifications sent and failed, per channel.
#[derive(Clone, Default)]
pub(crate) struct Counters {
    pub(crate) sent: Family<ChannelLabel, Counter>,
    pub(crate) failed: Family<ChannelLabel, Counter>,
}

impl Counters {
    fn of(&self, channel: &str) -> (u64, u64) {
        let label = ChannelLabel {
            channel: channel.to_string(),
        };
        (
            self.sent.get_or_create(&label).get(),
            self.failed.get_or_create(&label).get(),
        )
    }
}

/// A message waiting for a channel.
struct Queued {
    /// Its outbox row; `None` when the store could not keep it.
    id: Option<i64>,
    message: Arc<Message>,
}

/// A channel with its running queue.
pub(crate) struct Running {
    pub(crate) channel: Arc<Channel>,
    tx: mpsc::Sender<Queued>,
    queued: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl Running {
    /// Queues `m` (already in the outbox as `id`), without waiting.
    pub(crate) fn push(&self, id: Option<i64>, m: Arc<Message>) -> bool {
        match self.tx.try_send(Queued { id, message: m }) {
            Ok(()) => {
                self.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => {
                tracing::warn!(channel = %self.channel.name, "notification queue full: message dropped");
                false
            }
        }
    }

    /// How it is doing, for the alerts page.
    pub(crate) fn view(&self, counters: &Counters, last: Option<Delivery>) -> ChannelView {
        let (sent, failed) = counters.of(&self.channel.name);
        ChannelView {
            name: self.channel.name.clone(),
            kind: self.channel.config.kind.as_str().to_string(),
            target: self.channel.target(),
            queued: self.queued.load(Ordering::Relaxed),
            sent,
            failed,
            last,
        }
    }

    /// Stops its task (a reload); what it had queued stays in the outbox.
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }
}

/// What a channel task shares.
#[derive(Clone)]
pub(crate) struct Deps {
    pub(crate) client: reqwest::Client,
    pub(crate) store: Arc<Mutex<AlertStore>>,
    pub(crate) counters: Counters,
}

/// Starts a channel's task, first with what the outbox holds for it.
pub(crate) fn start(
    channel: Channel,
    backlog: Vec<(i64, Message)>,
    deps: Deps,
    shutdown: &CancellationToken,
    tasks: &TaskTracker,
) -> Running {
    let (tx, rx) = mpsc::channel(QUEUE);
    let stop = shutdown.child_token();
    let channel = Arc::new(channel);
    let running = Running {
        channel: channel.clone(),
        tx,
        queued: Arc::new(AtomicU64::new(0)),
        stop: stop.clone(),
    };
    for (id, message) in backlog {
        running.push(Some(id), Arc::new(message));
    }
    tasks.spawn(run(channel, rx, running.queued.clone(), deps, stop));
    running
}

async fn run(
    channel: Arc<Channel>,
    mut rx: mpsc::Receiver<Queued>,
    queued: Arc<AtomicU64>,
    deps: Deps,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            next = rx.recv() => match next {
                Some(next) => next,
                None => return,
            },
        };
        let key = next
            .id
            .map_or_else(|| format!("t{}", next.message.ts), |id| id.to_string());
        let outcome = tokio::select! {
            biased;
            // Still in the outbox: sent after the restart (or reload).
            _ = stop.cancelled() => return,
            outcome = deliver(&channel, &deps.client, &next.message, &key) => outcome,
        };
        queued.fetch_sub(1, Ordering::Relaxed);
        let label = ChannelLabel {
            channel: channel.name.clone(),
        };
        if outcome.ok {
            deps.counters.sent.get_or_create(&label).inc();
            tracing::debug!(channel = %channel.name, detail = %outcome.detail, attempts = outcome.attempts, "notification delivered");
        } else {
            deps.counters.failed.get_or_create(&label).inc();
            tracing::warn!(channel = %channel.name, why = %outcome.detail, attempts = outcome.attempts, "notification not delivered; giving up");
        }
        let store = deps.store.lock().unwrap_or_else(|e| e.into_inner());
        store.delivered(next.id, &channel.name, &outcome);
    }
}

/// Delays between attempts: 1 s, 2 s, 4 s, ... at most 5 min, with jitter.
pub(crate) fn backoff(retries: u32) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(MAX_DELAY)
        .with_jitter()
        .with_max_times(retries as usize)
}

/// Tries `m` until it is delivered or the retries run out.
pub(crate) async fn deliver(channel: &Channel, client: &reqwest::Client, m: &Message, key: &str) -> Delivery {
    retrying(&channel.name, channel.config.retries, || {
        channel.send_once(client, m, key)
    })
    .await
}

/// Calls `attempt` until it succeeds or `retries` more attempts failed,
/// waiting [`backoff`] between them.
async fn retrying<F, Fut>(name: &str, retries: u32, mut attempt: F) -> Delivery
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let mut delays = backoff(retries).build();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let why = match attempt().await {
            Ok(detail) => {
                return Delivery {
                    ts: crate::signals::clock::now_ms(),
                    ok: true,
                    detail,
                    attempts,
                }
            }
            Err(why) => why,
        };
        match delays.next() {
            Some(delay) => {
                tracing::debug!(channel = %name, %why, ?delay, "notification attempt failed; retrying");
                tokio::time::sleep(delay).await;
            }
            None => {
                return Delivery {
                    ts: crate::signals::clock::now_ms(),
                    ok: false,
                    detail: format!("{why} ({attempts} attempts)"),
                    attempts,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_and_targets_show_hosts_only() {
        let mut c = NotifyConfig::new(NotifyKind::Telegram, None);
        c.chat_id = Some("1".into());
        c.secret_env = Some("VIGIL_TEST_TELEGRAM_TOKEN_UNSET".into());
        let err = Channel::open("tg", &c).unwrap_err();
        assert_eq!(
            err,
            "notify \"tg\": $VIGIL_TEST_TELEGRAM_TOKEN_UNSET (secret_env) is not set"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "123:SECRET\n").unwrap();
        c.secret_env = None;
        c.secret_file = Some(file);
        let ch = Channel::open("tg", &c).unwrap();
        assert!(!format!("{ch:?}").contains("SECRET"));
        assert_eq!(ch.target(), "api.telegram.org");
        let hook = Channel::open("h", &NotifyConfig::webhook("https://hooks.example.com:8443/T0/SECRET")).unwrap();
        assert_eq!(hook.target(), "hooks.example.com:8443");
    }

    /// A channel down for ten minutes (on a paused clock) delivers once
    /// it is back, with the default retries.
    #[tokio::test(start_paused = true)]
    async fn a_channel_down_for_ten_minutes_delivers_after() {
        let started = tokio::time::Instant::now();
        let tried = std::cell::Cell::new(0);
        let d = retrying("hook", super::super::config::DEFAULT_RETRIES, || {
            tried.set(tried.get() + 1);
            let down = started.elapsed() < Duration::from_secs(600);
            async move {
                if down {
                    Err("HTTP 503".to_string())
                } else {
                    Ok("HTTP 200".to_string())
                }
            }
        })
        .await;
        assert!(d.ok, "{d:?}");
        assert_eq!(d.attempts, tried.get());
        assert!(d.attempts > 5, "{d:?}");
        assert!(started.elapsed() >= Duration::from_secs(600));
        // Not much later than it came back: at most one longest pause.
        assert!(started.elapsed() < Duration::from_secs(600) + 2 * MAX_DELAY);
    }

    /// A channel that stays down is given up on, saying why and after how many.
    #[tokio::test(start_paused = true)]
    async fn a_channel_that_stays_down_is_given_up_on() {
        let d = retrying("hook", 3, || async { Err::<String, _>("connect refused".to_string()) }).await;
        assert_eq!(
            (d.ok, d.attempts, d.detail.as_str()),
            (false, 4, "connect refused (4 attempts)")
        );
    }
}
