//! The live stream behind `GET /ws`.
//!
//! - [`hub`]: subscribes to the sample bus, gives each frame its `seq`,
//!   serializes it once, keeps a replay ring and broadcasts the shared bytes.
//! - [`checks`]: gathers check rounds and transitions into `checks` frames.
//! - [`fanout`]: a few shard tasks that write each hub frame to their
//!   clients in one pass, with pings, timeouts and closes.
//! - [`ws`]: the `/ws` handler, and one reader task per client.
//! - [`upgrade`]: the WebSocket opening handshake.
//! - [`wire`]: a socket's halves; over plain TCP the shards write frames
//!   straight to the socket, below the WebSocket layer.
//!
//! Both keep the live stream's counters in `signals::stats::LiveStats`.

pub(crate) mod checks;
pub(crate) mod fanout;
pub(crate) mod hub;
pub(crate) mod upgrade;
pub(crate) mod wire;
pub(crate) mod ws;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) use hub::Hub;

use self::hub::HubOptions;
use crate::signals::{AlertsBus, CheckBus, HealthBus, LiveStats, SampleBus};

/// Starts the live stream: a hub that begins with the latest sample and
/// rollup (so the first page and the first client get real values), and
/// the tasks that feed it from the buses until `shutdown`.
pub fn start(
    options: HubOptions,
    stats: Arc<LiveStats>,
    buses: (&SampleBus, &HealthBus, &CheckBus, &AlertsBus),
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> Arc<Hub> {
    let (samples, reports, checks, alerts) = buses;
    let interval = options.interval;
    let hub = Hub::new(options, stats);
    // Subscribed first: whatever comes after the latest is not missed.
    let (sample_rx, report_rx, check_rx) = (samples.subscribe(), reports.subscribe(), checks.subscribe());
    if let Some(sample) = samples.latest() {
        hub.publish_sample(sample);
    }
    if let Some(report) = reports.latest() {
        hub.publish_health(app::health::HealthReport::clone(&report));
    }
    let feeds = hub::Feeds {
        samples: sample_rx,
        reports: report_rx,
        checks: check_rx,
        checks_period: interval.clamp(Duration::from_millis(250), Duration::from_secs(1)),
    };
    tasks.spawn(hub::run(hub.clone(), feeds, shutdown.child_token()));
    let alerts = alerts.subscribe();
    if !alerts.borrow().alerts.is_empty() {
        hub.publish_alerts(alerts.borrow().clone());
    }
    tasks.spawn(hub::alerts(hub.clone(), alerts, shutdown.child_token()));
    tasks.spawn(hub::heartbeat(hub.clone(), shutdown.child_token()));
    hub
}
