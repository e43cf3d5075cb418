//! The health rollup as a row of status chips, kept live by `health` frames.

use leptos::prelude::*;

use crate::live::use_live;

/// One chip per component: name, status word and reason. Reads the app's
/// live store, which the overview seeds from its snapshot.
#[component]
pub fn HealthPanel() -> impl IntoView {
    let health = use_live().health;
    let overall = move || health.with(|h| h.as_ref().map_or("unknown", |r| r.status.as_str()));
    let names = Memo::new(move |_| {
        health.with(|h| {
            h.as_ref()
                .map(|r| r.components.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let chip = move |name: String| {
        let key = name.clone();
        let part = move |f: fn(&super::ComponentHealth) -> String| {
            let key = key.clone();
            move || {
                health.with(|h| {
                    h.as_ref()
                        .and_then(|r| r.components.iter().find(|c| c.name == key))
                        .map(f)
                        .unwrap_or_default()
                })
            }
        };
        let status = part(|c| c.status.as_str().to_string());
        let class = {
            let status = status.clone();
            move || format!("chip {}", status())
        };
        let status_attr = status.clone();
        view! {
            <li class=class data-testid="health-component" data-status=status_attr title=part(|c| c.reason.clone())>
                <span class="chip-name">{name}</span>
                <span class="chip-status">{status}</span>
                <span class="chip-reason">{part(|c| c.reason.clone())}</span>
            </li>
        }
    };
    view! {
        <section class="health" aria-labelledby="health-h">
            <h2 id="health-h">
                "Health " <span class=move || format!("badge {}", overall()) data-testid="health-status">{overall}</span>
            </h2>
            <ul class="chips"><For each=move || names.get() key=|n| n.clone() children=chip/></ul>
        </section>
    }
}
