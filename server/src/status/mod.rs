//! Status pages: public pages for the people who use the services, their
//! incidents, the checks' badges, and the SLA reports signed-in users read.
//!
//! A read-side feature: it subscribes to the check bus, reads the store's
//! history (daily uptime, announced transitions) and the alerts engine's
//! maintenance windows, and keeps incidents in `status.db`.
//!
//! ```text
//! signals::checks --transition--> engine --render once--> Rendered (HTML, JSON, Atom; ETag) --> GET /status/SLUG[.json|.atom]
//! store (daily uptime, 10 min) ------^      ^-- incidents (status.db), maintenance (alerts), a 30 s tick
//! ```
//!
//! - [`config`]: the `[[status_pages]]` entries.
//! - [`page`]: a page's public model and its HTML.
//! - [`incidents`]: incidents and their updates in `status.db`.
//! - [`feed`]: the Atom feed of a page's incidents.
//! - [`badge`]: SVG badges.
//! - [`report`]: the SLA arithmetic and its CSV.
//! - [`routes`]: the public doors and the CSV export.
//!
//! A page is rendered when something it shows changes, never per request:
//! the handlers answer from memory, with an ETag and a short `max-age`.

pub(crate) mod badge;
pub mod config;
pub(crate) mod feed;
pub(crate) mod incidents;
pub(crate) mod page;
pub(crate) mod report;
pub(crate) mod routes;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use app::health::Status;
use app::status::{
    Impact, Incident, IncidentStatus, IncidentsBoard, NewIncident, Report, StatusError, StatusPageInfo, StatusQuery,
};
use axum::body::Bytes;
use sha2::Digest;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::config::StatusPageConfig;
use self::incidents::{IncidentStore, Opening};
use crate::signals::clock::now_ms;
use crate::signals::{CheckBus, CheckEvent};
use crate::store::History;

const DAY: i64 = 86_400_000;
/// How often the daily uptime is read again (today's bar fills in): one
/// 90-point range query per listed check.
const DAYS_EVERY: Duration = Duration::from_secs(120);
/// How often pages are rebuilt anyway: maintenance opens and closes on the clock.
const TICK: Duration = Duration::from_secs(30);
/// How far ahead planned maintenance shows.
const PLANNED_AHEAD: i64 = 14 * DAY;

/// One page, rendered.
pub(crate) struct Rendered {
    /// The model's hash: the ETag of all three forms (with a suffix each).
    pub(crate) version: String,
    pub(crate) html: Encoded,
    pub(crate) json: Encoded,
    pub(crate) atom: Encoded,
    model: page::PublicPage,
}

/// A body as sent, and compressed once for the clients that accept it.
pub(crate) struct Encoded {
    pub(crate) identity: Bytes,
    pub(crate) br: Bytes,
    pub(crate) gzip: Bytes,
}

impl Encoded {
    fn new(body: Vec<u8>) -> Encoded {
        use std::io::Write;
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            let _ = w.write_all(&body);
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = gz.write_all(&body);
        Encoded {
            gzip: Bytes::from(gz.finish().unwrap_or_default()),
            br: Bytes::from(br),
            identity: Bytes::from(body),
        }
    }
}

/// The status pages engine (cheap to clone).
#[derive(Clone)]
pub(crate) struct StatusPages {
    inner: Arc<Inner>,
}

struct Inner {
    pages: Vec<StatusPageConfig>,
    by_host: HashMap<String, String>,
    /// Checks shown on some page: their badges are public.
    public_checks: HashSet<String>,
    /// Every check, in config order, with its objective: the reports' rows.
    checks_slo: Vec<(String, Option<f64>)>,
    rendered: RwLock<HashMap<String, Arc<Rendered>>>,
    days: RwLock<HashMap<String, Arc<[Option<f64>]>>>,
    store: Mutex<IncidentStore>,
    /// Unresolved incidents and those resolved in the last 90 days, drafts too.
    incidents: RwLock<Vec<Incident>>,
    checks: Arc<CheckBus>,
    history: Arc<History>,
    alerts: crate::alerts::Alerts,
    changed: Notify,
    /// Badges' uptime by (check, days), for a minute.
    uptimes: moka::sync::Cache<(String, i64), Option<f64>>,
}

/// What the engine reads.
pub(crate) struct Sources {
    pub(crate) checks: Arc<CheckBus>,
    pub(crate) history: Arc<History>,
    pub(crate) alerts: crate::alerts::Alerts,
}

/// Starts the engine: opens `status.db`, renders every page, and keeps
/// them current until `shutdown`.
pub(crate) async fn start(
    pages: Vec<StatusPageConfig>,
    checks_slo: Vec<(String, Option<f64>)>,
    data_dir: &Path,
    sources: Sources,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> StatusPages {
    let dir = data_dir.to_path_buf();
    let store = tokio::task::spawn_blocking(move || IncidentStore::open(&dir))
        .await
        .unwrap_or_else(|_| IncidentStore::in_memory());
    let engine = StatusPages {
        inner: Arc::new(Inner {
            by_host: pages
                .iter()
                .filter_map(|p| Some((p.hostname.clone()?, p.slug.clone())))
                .collect(),
            public_checks: pages.iter().flat_map(|p| p.all_checks().cloned()).collect(),
            pages,
            checks_slo,
            rendered: RwLock::default(),
            days: RwLock::default(),
            store: Mutex::new(store),
            incidents: RwLock::default(),
            checks: sources.checks,
            history: sources.history,
            alerts: sources.alerts,
            changed: Notify::new(),
            uptimes: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(routes::BADGE_TTL)
                .build(),
        }),
    };
    if engine.inner.pages.is_empty() {
        return engine;
    }
    engine.reload_incidents().await;
    engine.refresh_days().await;
    engine.render_all();
    tasks.spawn(engine.clone().run(shutdown));
    engine
}

impl StatusPages {
    async fn run(self, shutdown: CancellationToken) {
        let mut events = self.inner.checks.subscribe();
        let mut tick = tokio::time::interval(TICK);
        let mut days = tokio::time::interval(DAYS_EVERY);
        tick.tick().await;
        days.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                event = events.recv() => match event {
                    Ok(CheckEvent::Transition(t)) if self.inner.public_checks.contains(&t.check) => {
                        if t.to == Status::Down {
                            self.draft_for(&t.check, t.ts).await;
                        }
                    }
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                () = self.inner.changed.notified() => {}
                _ = tick.tick() => {}
                _ = days.tick() => self.refresh_days().await,
            }
            self.render_all();
        }
    }

    /// The page with `slug`, as last rendered.
    pub(crate) fn rendered(&self, slug: &str) -> Option<Arc<Rendered>> {
        self.inner
            .rendered
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(slug)
            .cloned()
    }

    /// The slug a status host name serves at `/`.
    pub(crate) fn slug_for_host(&self, host: &str) -> Option<&str> {
        self.inner.by_host.get(host).map(String::as_str)
    }

    /// Whether any page has a host name of its own.
    pub(crate) fn has_hosts(&self) -> bool {
        !self.inner.by_host.is_empty()
    }

    /// Whether `check` is shown on a public page (its badges are public).
    pub(crate) fn is_public(&self, check: &str) -> bool {
        self.inner.public_checks.contains(check)
    }

    /// A check's announced status, for badges; `None`: no such check.
    pub(crate) fn check_state(&self, check: &str) -> Option<Status> {
        self.inner.checks.get(check).map(|c| c.status)
    }

    /// A check's uptime over the last `days` days, percent; cached a minute.
    pub(crate) async fn uptime(&self, check: &str, days: i64) -> Option<f64> {
        let key = (check.to_string(), days);
        if let Some(hit) = self.inner.uptimes.get(&key) {
            return hit;
        }
        let history = self.inner.history.clone();
        let check = check.to_string();
        let now = now_ms();
        let pct = tokio::task::spawn_blocking(move || {
            let to = (now / 60_000 + 1) * 60_000;
            history.uptime_buckets(&check, to - days * DAY, to, 1, now)[0]
        })
        .await
        .ok()
        .flatten();
        self.inner.uptimes.insert(key, pct);
        pct
    }

    /// Reads each public check's daily uptime over the bar's days (UTC).
    async fn refresh_days(&self) {
        let history = self.inner.history.clone();
        let checks: Vec<String> = self.inner.public_checks.iter().cloned().collect();
        let now = now_ms();
        let read = tokio::task::spawn_blocking(move || {
            let to = (now / DAY + 1) * DAY;
            let from = to - page::DAYS as i64 * DAY;
            checks
                .into_iter()
                .map(|c| {
                    let days: Arc<[Option<f64>]> = history.uptime_buckets(&c, from, to, page::DAYS as u32, now).into();
                    (c, days)
                })
                .collect::<HashMap<_, _>>()
        })
        .await;
        match read {
            Ok(days) => *self.inner.days.write().unwrap_or_else(|e| e.into_inner()) = days,
            Err(err) => tracing::warn!(%err, "reading the status pages' daily uptime failed"),
        }
    }

    /// Builds every page's model and renders those that changed.
    fn render_all(&self) {
        let now = now_ms();
        let planned = self.inner.alerts.planned(now, PLANNED_AHEAD);
        let incidents = self.inner.incidents.read().unwrap_or_else(|e| e.into_inner()).clone();
        let days = self.inner.days.read().unwrap_or_else(|e| e.into_inner()).clone();
        let status = |c: &str| self.inner.checks.get(c).map_or(Status::Unknown, |s| s.status);
        let days_of = |c: &str| days.get(c).cloned();
        let inputs = page::Inputs {
            status: &status,
            days: &days_of,
            incidents: &incidents,
            planned: &planned,
            now,
        };
        for config in &self.inner.pages {
            let mut model = page::build(config, &inputs);
            let previous = self.rendered(&config.slug);
            if let Some(prev) = &previous {
                model.updated_at = prev.model.updated_at;
                if model == prev.model {
                    continue;
                }
                model.updated_at = now;
            }
            match render(config, model, &incidents, now) {
                Ok(rendered) => {
                    self.inner
                        .rendered
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(config.slug.clone(), Arc::new(rendered));
                }
                Err(err) => tracing::error!(slug = %config.slug, %err, "rendering a status page failed"),
            }
        }
    }

    /// Opens a draft incident on each page that lists `check` and wants
    /// drafts, unless one opened by it is still unresolved.
    async fn draft_for(&self, check: &str, ts: i64) {
        let pages: Vec<String> = self
            .inner
            .pages
            .iter()
            .filter(|p| p.draft_incidents && p.all_checks().any(|c| c == check))
            .map(|p| p.slug.clone())
            .collect();
        let check = check.to_string();
        let when = page::when(ts);
        let opened = self
            .with_store(move |store| {
                for page in &pages {
                    if store.has_open_for(page, &check)? {
                        continue;
                    }
                    store.open_incident(
                        &Opening {
                            page,
                            title: &format!("{check} is down"),
                            impact: Impact::Major,
                            status: IncidentStatus::Investigating,
                            body: &format!("{check} has not answered since {when}. We are looking into it."),
                            by: "vigil",
                            draft: true,
                            check: Some(&check),
                        },
                        ts,
                    )?;
                }
                Ok(())
            })
            .await;
        if let Err(err) = opened {
            tracing::warn!(%err, "opening a draft incident failed");
        }
        self.reload_incidents().await;
    }

    /// Runs `f` on the incidents database off the async workers.
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut IncidentStore) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StatusError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = inner.store.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut store)
        })
        .await
        .map_err(|e| StatusError::Unavailable(format!("incidents task: {e}")))?
        .map_err(|e| {
            tracing::error!(%e, "status database");
            StatusError::Unavailable(format!("status database: {e}"))
        })
    }

    /// Reads the incidents again and wakes the renderer.
    async fn reload_incidents(&self) {
        let since = now_ms() - page::DAYS as i64 * DAY;
        match self.with_store(move |store| store.recent(since)).await {
            Ok(list) => *self.inner.incidents.write().unwrap_or_else(|e| e.into_inner()) = list,
            Err(err) => tracing::warn!(%err, "reading incidents failed"),
        }
        self.inner.changed.notify_one();
    }

    fn page(&self, slug: &str) -> Result<&StatusPageConfig, StatusError> {
        self.inner
            .pages
            .iter()
            .find(|p| p.slug == slug)
            .ok_or_else(|| StatusError::UnknownPage(slug.to_string()))
    }

    /// After a change an admin made: the incident, with the pages re-rendered.
    async fn changed(&self, incident: Option<Incident>, id: i64) -> Result<Incident, StatusError> {
        let incident = incident.ok_or(StatusError::UnknownIncident(id))?;
        self.reload_incidents().await;
        // Render now, so that the admin's next look at the page shows it.
        self.render_all();
        Ok(incident)
    }
}

fn render(
    config: &StatusPageConfig,
    model: page::PublicPage,
    incidents: &[Incident],
    now: i64,
) -> Result<Rendered, String> {
    let json = serde_json::to_vec(&model).map_err(|e| e.to_string())?;
    let version = hex::encode(&sha2::Sha256::digest(&json)[..8]);
    let html = page::html(&model, &version).map_err(|e| e.to_string())?;
    let ours: Vec<Incident> = incidents.iter().filter(|i| i.page == config.slug).cloned().collect();
    let atom = feed::atom("", &config.slug, &config.title, &ours, now);
    Ok(Rendered {
        version,
        html: Encoded::new(html.into_bytes()),
        json: Encoded::new(json),
        atom: Encoded::new(atom.into_bytes()),
        model,
    })
}

#[async_trait::async_trait]
impl StatusQuery for StatusPages {
    async fn board(&self) -> IncidentsBoard {
        IncidentsBoard {
            pages: self
                .inner
                .pages
                .iter()
                .map(|p| StatusPageInfo {
                    slug: p.slug.clone(),
                    title: p.title.clone(),
                    path: format!("/status/{}", p.slug),
                    checks: p.all_checks().cloned().collect(),
                })
                .collect(),
            incidents: self.inner.incidents.read().unwrap_or_else(|e| e.into_inner()).clone(),
            can_edit: false,
        }
    }

    async fn open_incident(&self, n: NewIncident, by: &str) -> Result<Incident, StatusError> {
        self.page(&n.page)?;
        let by = by.to_string();
        let opened = self
            .with_store(move |store| {
                store.open_incident(
                    &Opening {
                        page: &n.page,
                        title: &n.title,
                        impact: n.impact,
                        status: n.status,
                        body: &n.body,
                        by: &by,
                        draft: false,
                        check: None,
                    },
                    now_ms(),
                )
            })
            .await?;
        tracing::info!(id = opened.id, page = %opened.page, "incident opened");
        let id = opened.id;
        self.changed(Some(opened), id).await
    }

    async fn update_incident(
        &self,
        id: i64,
        status: IncidentStatus,
        body: String,
        by: &str,
    ) -> Result<Incident, StatusError> {
        let by = by.to_string();
        let updated = self
            .with_store(move |store| store.update(id, status, &body, &by, now_ms()))
            .await?;
        self.changed(updated, id).await
    }

    async fn publish_incident(&self, id: i64, _by: &str) -> Result<Incident, StatusError> {
        let published = self.with_store(move |store| store.publish(id)).await?;
        self.changed(published, id).await
    }

    async fn discard_draft(&self, id: i64, _by: &str) -> Result<(), StatusError> {
        if !self.with_store(move |store| store.discard(id)).await? {
            return Err(StatusError::UnknownIncident(id));
        }
        self.reload_incidents().await;
        Ok(())
    }

    async fn report(&self, from: i64, to: i64) -> Result<Report, StatusError> {
        let now = now_ms();
        let checks = self.inner.checks_slo.clone();
        let maintenance: Vec<Vec<(i64, i64)>> = checks
            .iter()
            .map(|(c, _)| self.inner.alerts.maintenance_of(c, from, to))
            .collect();
        let history = self.inner.history.clone();
        tokio::task::spawn_blocking(move || {
            let mut rows = Vec::with_capacity(checks.len());
            for ((check, slo), spans) in checks.iter().zip(&maintenance) {
                let (before, changes) = history
                    .timeline(check, from, to)
                    .map_err(|e| StatusError::Unavailable(format!("history: {e}")))?;
                let timeline = report::Timeline { before, changes };
                rows.push(report::row(check, &timeline, spans, from, to, now, *slo));
            }
            Ok(Report { from, to, rows })
        })
        .await
        .map_err(|e| StatusError::Unavailable(format!("report task: {e}")))?
    }
}
