//! The checks pages' parts: the `/checks` table and the parts of a check's
//! page. Both read the app's live store ([`CheckBoard`]), so rounds and
//! status changes show as they happen; the server renders the same markup
//! from the same board first.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use super::{CheckDetail, CheckLive, ListView, SortKey, UptimeBar};
use crate::format;
use crate::health::Status;
use crate::live::use_live;
use crate::metrics::{polyline_points, RangePoint};

/// Rounds drawn in a row's sparkline.
const SPARK_ROUNDS: usize = 30;

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "–".into(), |p| format!("{p:.2}%"))
}

fn latency(ms: Option<f64>) -> String {
    ms.map_or_else(|| "–".into(), format::millis)
}

/// A live view of one check in the store.
fn use_check(name: String) -> Memo<Option<CheckLive>> {
    let board = use_live().checks;
    Memo::new(move |_| board.with(|b| b.get(&name).cloned()))
}

/// `/checks`: filter, counts and the sortable table.
#[component]
pub fn ChecksTable() -> impl IntoView {
    let board = use_live().checks;
    let query = use_query_map();
    let view = Memo::new(move |_| query.with(|q| ListView::from_query(|k| q.get(k))));
    let names = Memo::new(move |_| board.with(|b| view.with(|v| v.apply(b))));
    let counts = move || {
        board.with(|b| {
            let n = |s: Status| b.checks.iter().filter(|c| c.state.status == s).count();
            format!(
                "{} checks: {} up, {} degraded, {} down, {} unknown",
                b.checks.len(),
                n(Status::Up),
                n(Status::Degraded),
                n(Status::Down),
                n(Status::Unknown)
            )
        })
    };
    let navigate = use_navigate();
    let go = move |next: ListView| {
        navigate(
            &next.href(),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        )
    };
    let on_q = {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            let mut next = view.get_untracked();
            next.q = event_target_value(&ev);
            go(next)
        }
    };
    let on_status = move |ev: leptos::ev::Event| {
        let mut next = view.get_untracked();
        next.status = ListView::from_query(|k| (k == "status").then(|| event_target_value(&ev))).status;
        go(next)
    };
    let header = move |key: SortKey, label: &'static str| {
        let aria = move || view.with(|v| crate::sort::aria(v.sort, v.desc, key));
        let href = move || view.with(|v| v.sorted_by(key).href());
        view! { <th scope="col" aria-sort=aria><a href=href data-testid=format!("sort-{}", crate::sort::Column::as_str(key))>{label}</a></th> }
    };
    view! {
        // A plain GET form: without JavaScript it reloads the page with the
        // filter in the URL; hydrated, typing filters at once.
        <form class="check-filter" method="get" action="/checks" role="search">
            <label>"Filter "
                <input type="search" name="q" data-testid="check-filter" placeholder="name, target, reason"
                    prop:value=move || view.with(|v| v.q.clone()) on:input=on_q/>
            </label>
            <label>"Status "
                <select name="status" data-testid="check-status-filter" on:change=on_status>
                    {["", "up", "degraded", "down", "unknown"].into_iter().map(|s| {
                        let selected = move || view.with(|v| v.status.map_or("", |st| st.as_str()) == s);
                        view! { <option value=s selected=selected>{if s.is_empty() { "any" } else { s }}</option> }
                    }).collect_view()}
                </select>
            </label>
            <noscript><button type="submit">"Apply"</button></noscript>
        </form>
        <p class="muted" data-testid="check-counts">{counts}</p>
        <div class="table-wrap">
            <table class="table checks" data-testid="checks-table">
                <thead>
                    <tr>
                        {header(SortKey::Status, "Status")}
                        {header(SortKey::Name, "Check")}
                        <th scope="col">"Reason"</th>
                        {header(SortKey::Latency, "Latency")}
                        <th scope="col">"Last rounds"</th>
                        {header(SortKey::Uptime, "Uptime 24 h")}
                        <th scope="col">"Breaker"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || names.get() key=|n| n.clone() let:name>
                        <CheckRow name/>
                    </For>
                </tbody>
            </table>
        </div>
        <Show when=move || names.with(Vec::is_empty)>
            <p class="muted" data-testid="checks-empty">
                {move || if board.with(|b| b.checks.is_empty()) {
                    "No checks are configured. Add [[checks]] to the config file (see the README)."
                } else {
                    "No check matches this filter."
                }}
            </p>
        </Show>
    }
}

#[component]
fn CheckRow(name: String) -> impl IntoView {
    let check = use_check(name.clone());
    let get = move |f: fn(&CheckLive) -> String| move || check.with(|c| c.as_ref().map(f).unwrap_or_default());
    let status = get(|c| c.state.status.as_str().into());
    let spark = move || {
        check.with(|c| {
            c.as_ref().map_or_else(String::new, |c| {
                let skip = c.rounds.len().saturating_sub(SPARK_ROUNDS);
                let values = c.rounds.iter().skip(skip).map(|r| r.latency_ms.unwrap_or(0.0));
                crate::metrics::spark_points(values.collect::<Vec<_>>().into_iter(), None)
            })
        })
    };
    let href = format!("/checks/{name}");
    view! {
        <tr data-testid="check-row" data-check=name.clone() data-status=status>
            <td><span class=move || format!("badge {}", status())>{status}</span></td>
            <td>
                <a href=href>{name.clone()}</a>
                <div class="muted small">{get(|c| format!("{} · {}", c.state.kind.as_str(), c.state.target))}</div>
            </td>
            <td class="reason">{get(|c| c.state.reason.clone())}</td>
            <td class="num latency" data-label="latency" data-testid="check-latency">{get(|c| latency(c.state.latency_ms))}</td>
            <td class="rounds">
                <svg class="spark" viewBox="0 0 120 32" preserveAspectRatio="none" role="img"
                    aria-label=format!("latency of the last rounds of {name}")>
                    <polyline points=spark vector-effect="non-scaling-stroke"/>
                </svg>
            </td>
            <td class="num uptime" data-label="up 24 h">{get(|c| pct(c.uptime.and_then(|u| u.day)))}</td>
            <td class=get(|c| format!("breaker {}", breaker_word(c))) data-label="breaker">{get(|c| breaker_word(c).into())}</td>
        </tr>
    }
}

fn breaker_word(c: &CheckLive) -> &'static str {
    match c.state.breaker {
        super::BreakerState::Closed => "closed",
        super::BreakerState::Open => "open",
        super::BreakerState::HalfOpen => "half-open",
    }
}

/// `/checks/NAME`: the live state, sub-results, latency, uptime and the
/// transition timeline. `detail` is the server's answer the store was
/// seeded with; its bars and day latency do not change while the page is open.
#[component]
pub fn CheckDetailView(detail: CheckDetail) -> impl IntoView {
    let name = detail.state.name.clone();
    let check = use_check(name.clone());
    let get = move |f: fn(&CheckLive) -> String| move || check.with(|c| c.as_ref().map(f).unwrap_or_default());
    let status = get(|c| c.state.status.as_str().into());
    let uptime = detail.uptime;
    let explore = format!(
        "/explore?series={}&series={}&range=24h",
        super::latency_series(&name),
        super::up_series(&name)
    );
    view! {
        <section class="check-head" aria-label="Status">
            <p>
                <span class=move || format!("badge big {}", status()) data-testid="check-status">{status}</span>
                " "
                <span class="reason" data-testid="check-reason">{get(|c| c.state.reason.clone())}</span>
            </p>
            <dl class="facts">
                <dt>"Type"</dt><dd>{get(|c| c.state.kind.as_str().into())}</dd>
                <dt>"Target"</dt><dd>{get(|c| c.state.target.clone())}</dd>
                <dt>"Latency"</dt><dd class="num">{get(|c| latency(c.state.latency_ms))}</dd>
                <dt>"Since"</dt><dd>{get(|c| if c.state.since > 0 { format!("{} {}", format::date(c.state.since), format::clock(c.state.since)) } else { "–".into() })}</dd>
                <dt>"Breaker"</dt><dd data-testid="check-breaker">{get(|c| breaker_word(c).into())}</dd>
                <dt>"Failed rounds in a row"</dt><dd class="num">{get(|c| c.state.consecutive_failures.to_string())}</dd>
                <dt>"Last round"</dt><dd>{get(|c| if c.state.ts > 0 { format::clock(c.state.ts) } else { "not yet".into() })}</dd>
            </dl>
        </section>
        <section aria-labelledby="subs-h">
            <h2 id="subs-h">"Parts"</h2>
            <Show when=move || check.with(|c| c.as_ref().is_some_and(|c| !c.state.subs.is_empty()))
                fallback=|| view! { <p class="muted">"This check has no parts."</p> }>
                <table class="table subs" data-testid="check-subs">
                    <thead><tr><th scope="col">"Part"</th><th scope="col">"Status"</th><th scope="col">"Reason"</th></tr></thead>
                    <tbody>
                        {move || check.with(|c| c.as_ref().map(|c| c.state.subs.iter().map(|s| view! {
                            <tr data-sub=s.name.clone()>
                                <td>{s.name.clone()}</td>
                                <td><span class=format!("badge {}", s.status.as_str())>{s.status.as_str()}</span></td>
                                <td>{s.reason.clone()}</td>
                            </tr>
                        }).collect_view()))}
                    </tbody>
                </table>
            </Show>
        </section>
        <section aria-labelledby="latency-h">
            <h2 id="latency-h">"Latency"</h2>
            <RoundsChart check/>
            <DayLatency points=detail.latency_day.clone()/>
            <p><a href=explore>"Latency and uptime in the explorer"</a></p>
        </section>
        <section aria-labelledby="uptime-h">
            <h2 id="uptime-h">"Uptime"</h2>
            <dl class="facts uptime" data-testid="check-uptime">
                <dt>"24 hours"</dt><dd class="num">{pct(uptime.day)}</dd>
                <dt>"7 days"</dt><dd class="num">{pct(uptime.week)}</dd>
                <dt>"30 days"</dt><dd class="num">{pct(uptime.month)}</dd>
            </dl>
            <UptimeBars bars=detail.hours.clone() label="Last 24 hours, one bar per hour" hourly=true/>
            <UptimeBars bars=detail.days.clone() label="Last 30 days, one bar per day" hourly=false/>
        </section>
        <section aria-labelledby="timeline-h">
            <h2 id="timeline-h">"Status changes"</h2>
            <Timeline check/>
        </section>
    }
}

const CHART_W: f64 = 600.0;
const CHART_H: f64 = 120.0;

/// The latency of the last rounds, live; down rounds marked below the line.
#[component]
fn RoundsChart(check: Memo<Option<CheckLive>>) -> impl IntoView {
    let data = Memo::new(move |_| {
        check.with(|c| {
            c.as_ref()
                .map(|c| {
                    c.rounds
                        .iter()
                        .map(|r| (r.latency_ms.unwrap_or(0.0), r.status))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let max = move || data.with(|d| d.iter().map(|(v, _)| *v).fold(0.0, f64::max));
    let line = move || {
        data.with(|d| {
            polyline_points(
                d.iter().map(|(v, _)| *v).collect::<Vec<_>>().into_iter(),
                None,
                CHART_W,
                CHART_H,
            )
        })
    };
    let marks = move || {
        data.with(|d| {
            let step = CHART_W / (d.len().max(2) - 1) as f64;
            d.iter()
                .enumerate()
                .filter(|(_, (_, s))| *s != Status::Up)
                .map(|(i, (_, s))| {
                    view! { <rect class=format!("mark {}", s.as_str()) x=format!("{:.1}", i as f64 * step - 2.0) y=CHART_H - 4.0 width="4" height="4"/> }
                })
                .collect_view()
        })
    };
    view! {
        <figure class="chart-fig">
            <figcaption>
                "Last " {move || data.with(Vec::len)} " rounds, up to " {move || format::millis(max())}
            </figcaption>
            <svg class="chart" data-testid="rounds-chart" viewBox=format!("0 0 {CHART_W} {CHART_H}") preserveAspectRatio="none"
                role="img" aria-label="latency of the last rounds">
                <polyline points=line vector-effect="non-scaling-stroke"/>
                {marks}
            </svg>
        </figure>
    }
}

/// The last 24 hours of latency from the history store: the average line
/// inside a min–max band.
#[component]
fn DayLatency(points: Vec<RangePoint>) -> impl IntoView {
    if points.len() < 2 {
        return view! { <p class="muted">"Not enough stored latency for a 24-hour chart yet (it fills in 10-minute steps)."</p> }.into_any();
    }
    let max = points.iter().map(|p| p.min_max_avg().1).fold(0.0, f64::max) * 1000.0;
    let ms = |f: fn((f64, f64, f64)) -> f64| {
        points
            .iter()
            .map(move |p| f(p.min_max_avg()) * 1000.0)
            .collect::<Vec<_>>()
    };
    let avg = polyline_points(ms(|m| m.2).into_iter(), Some(max), CHART_W, CHART_H);
    let upper = polyline_points(ms(|m| m.1).into_iter(), Some(max), CHART_W, CHART_H);
    let mut lower: Vec<&str> = Vec::new();
    let lower_points = polyline_points(ms(|m| m.0).into_iter(), Some(max), CHART_W, CHART_H);
    lower.extend(lower_points.split(' ').rev());
    let band = format!("{upper} {}", lower.join(" "));
    let first = points.first().map_or(0, RangePoint::t);
    view! {
        <figure class="chart-fig">
            <figcaption>"Last 24 hours since " {format::clock(first)} ", up to " {format::millis(max)} " (band: min to max)"</figcaption>
            <svg class="chart" data-testid="day-latency" viewBox=format!("0 0 {CHART_W} {CHART_H}") preserveAspectRatio="none"
                role="img" aria-label="latency over the last 24 hours">
                <polygon class="band" points=band/>
                <polyline points=avg vector-effect="non-scaling-stroke"/>
            </svg>
        </figure>
    }
    .into_any()
}

/// One bar per hour or day, coloured by its uptime, with a tooltip.
#[component]
fn UptimeBars(bars: Vec<UptimeBar>, label: &'static str, hourly: bool) -> impl IntoView {
    let n = bars.len().max(1) as f64;
    let w = CHART_W / n;
    let rects = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let class = match b.pct {
                None => "bar none",
                Some(p) if p >= 99.5 => "bar up",
                Some(p) if p >= 95.0 => "bar degraded",
                Some(_) => "bar down",
            };
            let when = if hourly {
                format!("{} {}", format::date(b.t), &format::clock(b.t)[..5])
            } else {
                format::date(b.t)
            };
            let title = format!("{when}: {}", b.pct.map_or_else(|| "no rounds".into(), |p| format!("{p:.2}% up")));
            view! {
                <rect class=class x=format!("{:.1}", i as f64 * w + 1.0) y="0" width=format!("{:.1}", (w - 2.0).max(1.0)) height="24">
                    <title>{title}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <figure class="chart-fig">
            <figcaption>{label}</figcaption>
            <svg class="bars" data-testid=if hourly { "uptime-hours" } else { "uptime-days" } viewBox=format!("0 0 {CHART_W} 24")
                preserveAspectRatio="none" role="img" aria-label=label>
                {rects}
            </svg>
        </figure>
    }
}

/// Announced status changes, newest first.
#[component]
fn Timeline(check: Memo<Option<CheckLive>>) -> impl IntoView {
    let items = move || {
        check.with(|c| {
            c.as_ref()
                .map(|c| c.transitions.iter().rev().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    view! {
        <Show when=move || !items().is_empty() fallback=|| view! { <p class="muted">"No status change recorded yet."</p> }>
            <ol class="timeline" data-testid="check-timeline">
                {move || items().into_iter().map(|t| view! {
                    <li class=format!("to-{}", t.to.as_str()) data-to=t.to.as_str()>
                        <time>{format!("{} {}", format::date(t.ts), format::clock(t.ts))}</time>
                        " " <strong>{t.from.as_str()} " → " {t.to.as_str()}</strong>
                        ": " {t.reason}
                    </li>
                }).collect_view()}
            </ol>
        </Show>
    }
}
