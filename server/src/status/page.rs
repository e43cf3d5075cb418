//! What a status page shows, built from the checks' states, their daily
//! uptime, the incidents and the maintenance windows, and rendered once
//! per change: HTML (complete without scripts), JSON (the same data), and
//! the Atom feed of its incidents, each with its ETag.
//!
//! Only what the page lists is ever read into its model: the check names
//! it lists, their status word and uptime, its own published incidents
//! and the maintenance windows that cover its checks. No reasons, no
//! targets, no host figures.

use std::sync::Arc;

use app::health::Status;
use app::status::{Incident, IncidentStatus};
use serde::Serialize;

use super::config::StatusPageConfig;
use crate::alerts::Planned;

/// Days in the uptime bar.
pub(crate) const DAYS: usize = 90;
const DAY_MS: i64 = 86_400_000;

/// A status page's data: `GET /status/SLUG.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct PublicPage {
    pub(crate) slug: String,
    pub(crate) title: String,
    pub(crate) description: Option<String>,
    pub(crate) overall: Overall,
    pub(crate) groups: Vec<PublicGroup>,
    /// Published incidents not yet resolved, newest first.
    pub(crate) active_incidents: Vec<Incident>,
    /// Open and coming maintenance of the page's checks, soonest first.
    pub(crate) maintenance: Vec<PublicMaintenance>,
    /// Resolved incidents of the last 90 days, newest first.
    pub(crate) past_incidents: Vec<Incident>,
    /// When what the page shows last changed, Unix ms.
    pub(crate) updated_at: i64,
}

/// The banner: one word for the page as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Overall {
    Operational,
    Maintenance,
    Degraded,
    PartialOutage,
    MajorOutage,
}

impl Overall {
    fn text(self) -> &'static str {
        match self {
            Overall::Operational => "All systems operational",
            Overall::Maintenance => "Maintenance in progress",
            Overall::Degraded => "Degraded performance",
            Overall::PartialOutage => "Partial outage",
            Overall::MajorOutage => "Major outage",
        }
    }
}

/// A heading (none for the checks listed first) and its checks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct PublicGroup {
    pub(crate) name: Option<String>,
    pub(crate) checks: Vec<PublicCheck>,
}

/// One check as the public sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct PublicCheck {
    pub(crate) name: String,
    pub(crate) state: CheckWord,
    /// Uptime over the bar's days, percent.
    pub(crate) uptime: Option<f64>,
    /// Oldest first; the last is today (UTC).
    pub(crate) days: Vec<Option<f64>>,
}

/// A check's state, in the words status pages use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CheckWord {
    Operational,
    Degraded,
    Down,
    Maintenance,
    NoData,
}

impl CheckWord {
    fn of(status: Status, in_maintenance: bool) -> CheckWord {
        match status {
            _ if in_maintenance => CheckWord::Maintenance,
            Status::Up => CheckWord::Operational,
            Status::Degraded => CheckWord::Degraded,
            Status::Down => CheckWord::Down,
            Status::Unknown => CheckWord::NoData,
        }
    }

    fn text(self) -> &'static str {
        match self {
            CheckWord::Operational => "Operational",
            CheckWord::Degraded => "Degraded",
            CheckWord::Down => "Outage",
            CheckWord::Maintenance => "Maintenance",
            CheckWord::NoData => "No data yet",
        }
    }
}

/// A maintenance window's opening on this page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct PublicMaintenance {
    pub(crate) name: String,
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) active: bool,
    /// The page's checks it covers.
    pub(crate) checks: Vec<String>,
}

/// A check's daily uptime, oldest first.
pub(crate) type Days = Arc<[Option<f64>]>;

/// What the engine knows, for one build of a page.
pub(crate) struct Inputs<'a> {
    pub(crate) status: &'a dyn Fn(&str) -> Status,
    pub(crate) days: &'a dyn Fn(&str) -> Option<Days>,
    pub(crate) incidents: &'a [Incident],
    pub(crate) planned: &'a [Planned],
    pub(crate) now: i64,
}

/// The page's model from what the engine knows.
pub(crate) fn build(config: &StatusPageConfig, inputs: &Inputs<'_>) -> PublicPage {
    let listed: Vec<&String> = config.all_checks().collect();
    let maintenance: Vec<PublicMaintenance> = {
        let mut m: Vec<PublicMaintenance> = inputs
            .planned
            .iter()
            .filter_map(|p| {
                let checks: Vec<String> = listed
                    .iter()
                    .filter(|c| p.checks.as_ref().is_none_or(|names| names.contains(c)))
                    .map(|c| c.to_string())
                    .collect();
                (!checks.is_empty()).then(|| PublicMaintenance {
                    name: p.name.clone(),
                    start: p.start,
                    end: p.end,
                    active: p.start <= inputs.now && inputs.now < p.end,
                    checks,
                })
            })
            .collect();
        m.sort_by_key(|p| (p.start, p.end));
        m
    };
    let in_maintenance = |check: &str| {
        maintenance
            .iter()
            .any(|m| m.active && m.checks.iter().any(|c| c == check))
    };
    let public_check = |name: &String| {
        let days = (inputs.days)(name)
            .map(|d| d.to_vec())
            .unwrap_or_else(|| vec![None; DAYS]);
        let known: Vec<f64> = days.iter().flatten().copied().collect();
        PublicCheck {
            name: name.clone(),
            state: CheckWord::of((inputs.status)(name), in_maintenance(name)),
            uptime: (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64),
            days,
        }
    };
    let mut groups = Vec::new();
    if !config.checks.is_empty() {
        groups.push(PublicGroup {
            name: None,
            checks: config.checks.iter().map(public_check).collect(),
        });
    }
    for g in &config.groups {
        groups.push(PublicGroup {
            name: Some(g.name.clone()),
            checks: g.checks.iter().map(public_check).collect(),
        });
    }
    let words: Vec<CheckWord> = groups.iter().flat_map(|g| g.checks.iter().map(|c| c.state)).collect();
    let down = words.iter().filter(|w| **w == CheckWord::Down).count();
    let overall = if down > 0 && down == words.iter().filter(|w| **w != CheckWord::NoData).count() {
        Overall::MajorOutage
    } else if down > 0 {
        Overall::PartialOutage
    } else if words.contains(&CheckWord::Degraded) {
        Overall::Degraded
    } else if words.contains(&CheckWord::Maintenance) {
        Overall::Maintenance
    } else {
        Overall::Operational
    };
    let ours = inputs.incidents.iter().filter(|i| i.page == config.slug && !i.draft);
    let active_incidents = ours.clone().filter(|i| i.resolved_at.is_none()).cloned().collect();
    let past_incidents = ours
        .filter(|i| i.resolved_at.is_some_and(|r| r >= inputs.now - DAYS as i64 * DAY_MS))
        .cloned()
        .collect();
    PublicPage {
        slug: config.slug.clone(),
        title: config.title.clone(),
        description: config.description.clone(),
        overall,
        groups,
        active_incidents,
        maintenance,
        past_incidents,
        updated_at: inputs.now,
    }
}

/// The template and its filters, compiled once.
fn templates() -> &'static minijinja::Environment<'static> {
    static ENV: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        env.add_template("page.html", TEMPLATE)
            .expect("the status page template parses");
        env.add_filter("when", when);
        env.add_filter("day_class", day_class);
        env.add_filter("pct", |pct: Option<f64>| {
            pct.map_or_else(
                || "no data".to_string(),
                |p| format!("{:.2} %", (p * 100.0).floor() / 100.0),
            )
        });
        env
    })
}

/// The page as HTML, escaped by the template engine.
pub(crate) fn html(page: &PublicPage, version: &str) -> Result<String, minijinja::Error> {
    let days: Vec<String> = (0..DAYS as i64)
        .map(|i| app::format::date(page.updated_at - (DAYS as i64 - 1 - i) * DAY_MS))
        .collect();
    let context = minijinja::context! {
        page => page,
        version => version,
        overall_text => page.overall.text(),
        overall_class => serde_json::to_value(page.overall).ok(),
        words => [
            ("operational", CheckWord::Operational.text()),
            ("degraded", CheckWord::Degraded.text()),
            ("down", CheckWord::Down.text()),
            ("maintenance", CheckWord::Maintenance.text()),
            ("no_data", CheckWord::NoData.text()),
        ].into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        labels => IncidentStatus::ALL.iter().map(|s| (s.as_str(), s.label())).collect::<std::collections::BTreeMap<_, _>>(),
        days => days,
        first_day => days.first(),
        css => CSS,
    };
    templates().get_template("page.html")?.render(context)
}

/// `2026-12-07 04:05 UTC`: how pages and drafts say a time.
pub(crate) fn when(ms: i64) -> String {
    format!("{} {} UTC", app::format::date(ms), &app::format::clock(ms)[..5])
}

fn day_class(pct: Option<f64>) -> &'static str {
    match pct {
        None => "d0",
        Some(p) if p >= 99.95 => "d1",
        Some(p) if p >= 99.0 => "d2",
        Some(p) if p >= 95.0 => "d3",
        Some(_) => "d4",
    }
}

const TEMPLATE: &str = include_str!("page.html");
const CSS: &str = include_str!("page.css");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::config::GroupConfig;

    fn config() -> StatusPageConfig {
        StatusPageConfig {
            slug: "public".into(),
            title: "Example <status>".into(),
            description: None,
            hostname: None,
            checks: vec!["web".into()],
            groups: vec![GroupConfig {
                name: "API".into(),
                checks: vec!["api-eu".into(), "api-us".into()],
            }],
            draft_incidents: true,
        }
    }

    fn build_with(status: fn(&str) -> Status, planned: &[Planned]) -> PublicPage {
        build(
            &config(),
            &Inputs {
                status: &status,
                days: &|_| None,
                incidents: &[],
                planned,
                now: 1_000_000,
            },
        )
    }

    #[test]
    fn the_banner_is_the_worst_listed_state() {
        assert_eq!(build_with(|_| Status::Up, &[]).overall, Overall::Operational);
        assert_eq!(
            build_with(|c| if c == "web" { Status::Degraded } else { Status::Up }, &[]).overall,
            Overall::Degraded
        );
        assert_eq!(
            build_with(|c| if c == "api-eu" { Status::Down } else { Status::Up }, &[]).overall,
            Overall::PartialOutage
        );
        assert_eq!(build_with(|_| Status::Down, &[]).overall, Overall::MajorOutage);
        assert_eq!(
            build_with(|c| if c == "web" { Status::Down } else { Status::Unknown }, &[]).overall,
            Overall::MajorOutage,
            "checks without data yet do not soften a major outage"
        );
        let open = Planned {
            name: "db upgrade".into(),
            checks: Some(vec!["api-eu".into(), "elsewhere".into()]),
            start: 999_000,
            end: 2_000_000,
        };
        let page = build_with(|c| if c == "api-eu" { Status::Down } else { Status::Up }, &[open]);
        assert_eq!(
            page.overall,
            Overall::Maintenance,
            "a check down in its window is maintenance"
        );
        assert_eq!(
            page.maintenance[0].checks,
            ["api-eu"],
            "only the page's own checks are named"
        );
    }

    #[test]
    fn the_html_escapes_what_it_shows() {
        let page = build_with(|_| Status::Up, &[]);
        let html = html(&page, "v1").unwrap();
        assert!(html.contains("Example &lt;status&gt;"), "{html}");
        assert!(!html.contains("<status>"));
        assert!(html.contains("All systems operational"));
    }
}
