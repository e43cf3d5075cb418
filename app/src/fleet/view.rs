//! The `/hosts` table: one row per host with its status, last-seen age,
//! CPU, memory and fullest filesystem; headers sort (links, so they work
//! without JavaScript); a host's name opens its explorer.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{HostSummary, HostsView, SortKey};
use crate::format;

/// The explorer URL showing `host`'s CPU, memory and disk over the last hour.
pub fn explore_href(host: &HostSummary) -> String {
    let mut series = vec!["cpu_usage_percent".to_string(), "memory_used_percent".to_string()];
    if let Some(disk) = &host.disk {
        series.push(format!("filesystem_used_percent.{}", crate::metrics::slug(&disk.mount)));
    }
    crate::explorer::View {
        series,
        host: (!host.local).then(|| host.name.clone()),
        ..crate::explorer::View::default()
    }
    .to_url()
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), format::percent)
}

/// The hosts, ordered as the URL says; `now` (Unix ms) is when the list
/// was read, for the last-seen ages. Built anew for each refresh.
#[component]
pub fn HostsTable(hosts: Vec<HostSummary>, now: i64) -> impl IntoView {
    let query = use_query_map();
    let order = Memo::new(move |_| query.with(|q| HostsView::from_query(|k| q.get(k))));
    let up = hosts.iter().filter(|h| h.status == crate::health::Status::Up).count();
    let count = match hosts.len() {
        1 => format!("1 host, {up} up"),
        n => format!("{n} hosts, {up} up"),
    };
    let alone = hosts.iter().all(|h| h.local);
    let hosts = StoredValue::new(hosts);
    let rows = Memo::new(move |_| {
        let mut list = hosts.get_value();
        order.get().apply(&mut list);
        list
    });
    let header = move |key: SortKey, label: &'static str, class: &'static str| {
        let aria = move || order.with(|o| crate::sort::aria(o.sort, o.desc, key));
        let href = move || order.get().sorted_by(key).href();
        view! {
            <th scope="col" class=class aria-sort=aria>
                <a href=href data-testid=format!("hosts-sort-{}", crate::sort::Column::as_str(key))>{label}</a>
            </th>
        }
    };
    view! {
        <p class="muted" data-testid="hosts-count">{count}</p>
        {alone.then(|| view! {
            <p class="muted" data-testid="hosts-alone">
                "Only this host so far. To see others, let each Vigil push with "
                <code>"[remote_write]"</code> " and point this one at the engine with "
                <code>"[fleet] prometheus = \"URL\""</code> " (README: Many hosts)."
            </p>
        })}
        <div class="table-wrap">
            <table class="table hosts" data-testid="hosts-table">
                <thead>
                    <tr>
                        {header(SortKey::Status, "Status", "")}
                        {header(SortKey::Name, "Host", "")}
                        {header(SortKey::Seen, "Last seen", "num")}
                        {header(SortKey::Cpu, "CPU", "num")}
                        {header(SortKey::Memory, "Memory", "num")}
                        {header(SortKey::Disk, "Fullest disk", "num")}
                    </tr>
                </thead>
                <tbody>
                    <For each=move || rows.get() key=|h| h.name.clone() let:host>
                        <HostRow host now/>
                    </For>
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn HostRow(host: HostSummary, now: i64) -> impl IntoView {
    let status = host.status.as_str();
    let href = explore_href(&host);
    let seen = host.last_seen;
    let age = match seen {
        Some(t) => format!("{} ago", format::age(now - t)),
        None => "not lately".into(),
    };
    let disk = host.disk.as_ref().map_or_else(
        || "–".to_string(),
        |d| format!("{} {}", format::percent(d.percent), d.mount),
    );
    view! {
        <tr data-testid="host-row" data-host=host.name.clone() data-status=status data-seen=seen.unwrap_or(0)>
            <td><span class=format!("badge {status}")>{status}</span></td>
            <td>
                <a href=href data-testid="host-link">{host.name.clone()}</a>
                {host.local.then(|| view! { <span class="muted small">" (this Vigil)"</span> })}
                <div class="muted small reason">{host.reason.clone()}</div>
            </td>
            <td class="num" data-label="seen" data-testid="host-seen">{age}</td>
            <td class="num" data-label="CPU" data-testid="host-cpu">{pct(host.cpu_percent)}</td>
            <td class="num" data-label="memory" data-testid="host-memory">{pct(host.memory_percent)}</td>
            <td class="num" data-label="disk" data-testid="host-disk">{disk}</td>
        </tr>
    }
}
