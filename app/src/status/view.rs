//! The dashboard's side of status pages: `/incidents` (the pages, their
//! incidents; admins open, update, publish and discard them) and
//! `/reports` (each check's service level over a month, exportable and
//! printable).

use leptos::prelude::*;

use super::{
    DiscardDraft, Impact, Incident, IncidentStatus, IncidentsBoard, OpenIncident, PublishIncident, Report,
    UpdateIncident,
};
use crate::format;

/// The incidents page's body: every status page, then every incident.
#[component]
pub fn IncidentsPage(
    board: IncidentsBoard,
    open: ServerAction<OpenIncident>,
    update: ServerAction<UpdateIncident>,
    publish: ServerAction<PublishIncident>,
    discard: ServerAction<DiscardDraft>,
) -> impl IntoView {
    let admin = board.can_edit;
    let IncidentsBoard { pages, incidents, .. } = board;
    let no_pages = pages.is_empty();
    let page_list = pages
        .iter()
        .map(|p| {
            view! {
                <li data-testid="status-page">
                    <a href=p.path.clone()>{p.title.clone()}</a>
                    " "
                    <span class="muted">{p.path.clone()} " · " {p.checks.join(", ")}</span>
                </li>
            }
        })
        .collect_view();
    let slugs: Vec<(String, String)> = pages.iter().map(|p| (p.slug.clone(), p.title.clone())).collect();
    let cards = incidents
        .into_iter()
        .map(|i| view! { <IncidentCard incident=i admin update publish discard/> })
        .collect_view();
    view! {
        <section class="card">
            <h2>"Status pages"</h2>
            {if no_pages {
                view! {
                    <p class="muted">
                        "No status page is configured. Add a " <code>"[[status_pages]]"</code>
                        " entry to the config file."
                    </p>
                }
                    .into_any()
            } else {
                view! { <ul class="plain">{page_list}</ul> }.into_any()
            }}
        </section>
        {(admin && !no_pages).then(|| view! { <OpenForm open slugs/> })}
        <section class="card">
            <h2>"Incidents"</h2>
            <div class="incidents" data-testid="incidents">{cards}</div>
        </section>
    }
}

fn option_list<T: Copy + PartialEq + 'static>(all: &[T], word: fn(T) -> &'static str, chosen: T) -> impl IntoView {
    all.iter()
        .map(|v| {
            let w = word(*v);
            view! { <option value=w selected=*v == chosen>{w}</option> }
        })
        .collect_view()
}

#[component]
fn OpenForm(open: ServerAction<OpenIncident>, slugs: Vec<(String, String)>) -> impl IntoView {
    let pages = slugs
        .into_iter()
        .map(|(slug, title)| view! { <option value=slug>{title}</option> })
        .collect_view();
    view! {
        <section class="card">
            <h2>"Open an incident"</h2>
            <ActionForm action=open attr:class="auth-form" attr:data-testid="incident-form">
                <label>"Status page" <select name="page">{pages}</select></label>
                <label>"Title" <input name="title" required maxlength="200"/></label>
                <label>
                    "Impact"
                    <select name="impact">{option_list(&Impact::ALL, Impact::as_str, Impact::Minor)}</select>
                </label>
                <label>
                    "Status"
                    <select name="status">
                        {option_list(&IncidentStatus::ALL, IncidentStatus::as_str, IncidentStatus::Investigating)}
                    </select>
                </label>
                <label>"What is happening" <textarea name="body" required maxlength="5000" rows="3"></textarea></label>
                <button type="submit" class="primary">"Publish the incident"</button>
            </ActionForm>
        </section>
    }
}

/// One incident: its state, its updates, and for admins the next step.
#[component]
fn IncidentCard(
    incident: Incident,
    admin: bool,
    update: ServerAction<UpdateIncident>,
    publish: ServerAction<PublishIncident>,
    discard: ServerAction<DiscardDraft>,
) -> impl IntoView {
    let Incident {
        id,
        page,
        title,
        impact,
        status,
        draft,
        updates,
        ..
    } = incident;
    let state = if draft { "draft" } else { status.as_str() };
    let updates = updates
        .into_iter()
        .rev()
        .map(|u| {
            view! {
                <li>
                    <strong>{u.status.label()}</strong>
                    " · "
                    <time>{format::date(u.ts)} " " {format::clock(u.ts)}</time>
                    <p class="pre">{u.body}</p>
                </li>
            }
        })
        .collect_view();
    let resolved = status == IncidentStatus::Resolved;
    view! {
        <article class="incident" data-testid="incident" data-state=state data-id=id.to_string()>
            <h3>
                <span class=format!("impact impact-{}", impact.as_str())>{impact.as_str()}</span>
                " " {title} " "
                <span class="muted">"on " {page}</span>
                {draft.then(|| view! { " " <span class="badge">"draft, not public"</span> })}
            </h3>
            <ul class="updates">{updates}</ul>
            {(admin && draft).then(|| view! {
                <div class="row">
                    <ActionForm action=publish attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="primary">"Publish"</button>
                    </ActionForm>
                    <ActionForm action=discard attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit">"Discard"</button>
                    </ActionForm>
                </div>
            })}
            {(admin && !resolved).then(|| view! {
                <details>
                    <summary>"Post an update"</summary>
                    <ActionForm action=update attr:class="auth-form" attr:data-testid="update-form">
                        <input type="hidden" name="id" value=id/>
                        <label>
                            "Status"
                            <select name="status">{option_list(&IncidentStatus::ALL, IncidentStatus::as_str, status)}</select>
                        </label>
                        <label>"Update" <textarea name="body" required maxlength="5000" rows="3"></textarea></label>
                        <button type="submit" class="primary">"Post"</button>
                    </ActionForm>
                </details>
            })}
        </article>
    }
}

fn minutes(ms: i64) -> String {
    let m = ms as f64 / 60_000.0;
    if m == m.trunc() {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    }
}

fn pct(p: Option<f64>, digits: usize) -> String {
    p.map_or_else(|| "–".into(), |p| format!("{p:.digits$} %"))
}

/// The reports page's body: the table, the export links.
#[component]
pub fn ReportsPage(report: Report, month: String) -> impl IntoView {
    let Report { from, to, rows } = report;
    let query = format!("from={from}&to={to}");
    let body = rows
        .into_iter()
        .map(|r| {
            let over = r.budget_left_pct.is_some_and(|l| l < 0.0);
            view! {
                <tr data-testid="report-row" data-check=r.check.clone()>
                    <th scope="row">{r.check.clone()}</th>
                    <td class="num" data-label="uptime">{pct(r.uptime_pct, 3)}</td>
                    <td class="num" data-label="down (min)">{minutes(r.down_ms)}</td>
                    <td class="num" data-label="outages">{r.outages}</td>
                    <td class="num" data-label="MTTR (min)">{r.mttr_ms.map_or_else(|| "–".into(), minutes)}</td>
                    <td class="num" data-label="maintenance (min)">{minutes(r.maintenance_ms)}</td>
                    <td class="num" data-label="SLO">{pct(r.slo, 2)}</td>
                    <td class="num" class:bad=over data-label="budget left">{pct(r.budget_left_pct, 1)}</td>
                    <td class="num" data-label="burn rate">{r.burn_rate.map_or_else(|| "–".into(), |b| format!("{b:.2}×"))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <form method="get" action="/reports" class="report-form no-print" data-testid="report-form">
            <label>"Month" <input type="month" name="month" value=month required/></label>
            <button type="submit">"Show"</button>
            <a href=format!("/api/v1/reports.csv?{query}") download>"Download CSV"</a>
            <a href=format!("/api/v1/reports?{query}")>"JSON"</a>
        </form>
        <p class="muted">
            {format::date(from)} " to " {format::date(to - 1)} " (UTC). "
            "Down is the time a check was announced down (after retries and flap damping; "
            "an open breaker counts as down), degraded counts as up. Maintenance windows that "
            "cover a check, time before its first round and time still to come are not counted."
        </p>
        <div class="table-wrap">
            <table class="alerts report" data-testid="report">
                <thead>
                    <tr>
                        <th scope="col">"Check"</th>
                        <th scope="col">"Uptime"</th>
                        <th scope="col">"Down (min)"</th>
                        <th scope="col">"Outages"</th>
                        <th scope="col">"MTTR (min)"</th>
                        <th scope="col">"Maintenance (min)"</th>
                        <th scope="col">"SLO"</th>
                        <th scope="col">"Budget left"</th>
                        <th scope="col">"Burn rate"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}
