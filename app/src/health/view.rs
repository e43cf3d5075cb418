//! The health rollup as a row of status chips.

use leptos::prelude::*;

use super::HealthReport;

/// One chip per component: name, status word and the reason as a tooltip.
#[component]
pub fn HealthPanel(report: HealthReport) -> impl IntoView {
    let chips = report
        .components
        .into_iter()
        .map(|c| {
            let status = c.status.as_str();
            let title = c.reason.clone();
            view! {
                <li class=format!("chip {status}") data-testid="health-component" data-status=status title=title>
                    <span class="chip-name">{c.name}</span>
                    <span class="chip-status">{status}</span>
                    <span class="chip-reason">{c.reason}</span>
                </li>
            }
        })
        .collect_view();
    let overall = report.status.as_str();
    view! {
        <section class="health" aria-labelledby="health-h">
            <h2 id="health-h">
                "Health " <span class=format!("badge {overall}") data-testid="health-status">{overall}</span>
            </h2>
            <ul class="chips">{chips}</ul>
        </section>
    }
}
