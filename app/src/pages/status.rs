//! `/incidents` (status pages and their incidents; admins open, update,
//! publish and discard) and `/reports` (SLA reports by month). Lazy
//! routes (see [`super`]).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::load_error;
use crate::auth::sentence;
use crate::format;
use crate::status::{
    get_incidents, get_report, DiscardDraft, IncidentsPage, OpenIncident, PublishIncident, ReportsPage, UpdateIncident,
};

lazy_route!(
    /// `/incidents`.
    Incidents => incidents, in notices
);

lazy_route!(
    /// `/reports`.
    Reports => reports, in notices
);

fn incidents() -> AnyView {
    let open = ServerAction::<OpenIncident>::new();
    let update = ServerAction::<UpdateIncident>::new();
    let publish = ServerAction::<PublishIncident>::new();
    let discard = ServerAction::<DiscardDraft>::new();
    let board = Resource::new_blocking(
        move || {
            (
                open.version().get(),
                update.version().get(),
                publish.version().get(),
                discard.version().get(),
            )
        },
        |_| get_incidents(),
    );
    let error = move || {
        [
            open.value().get().and_then(Result::err),
            update.value().get().and_then(Result::err),
            publish.value().get().and_then(Result::err),
            discard.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <p class="error" role="alert" data-testid="incidents-error">{sentence(&e.to_string())}</p> })
    };
    view! {
        <Title text="Incidents · Vigil"/>
        <h1 class="page-title">"Incidents"</h1>
        {error}
        <Transition fallback=|| view! { <p class="muted">"Loading incidents…"</p> }>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move {
                    board.await.map(|board| view! { <IncidentsPage board open update publish discard/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
    .into_any()
}

/// The month a `YYYY-MM` names, as Unix ms `[from, to)`.
fn month_range(month: &str) -> Option<(i64, i64)> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let from = format::days_from_civil(y, m, 1) * 86_400_000;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Some((from, format::days_from_civil(ny, nm, 1) * 86_400_000))
}

/// This month, `YYYY-MM` (UTC).
fn this_month() -> String {
    format::date(format::now_ms())[..7].to_string()
}

fn reports() -> AnyView {
    let query = use_query_map();
    let month = Memo::new(move |_| {
        query
            .with(|q| q.get("month"))
            .filter(|m| month_range(m).is_some())
            .unwrap_or_else(this_month)
    });
    let report = Resource::new_blocking(
        move || month.get(),
        |month| async move {
            let (from, to) = month_range(&month).unwrap_or((0, 1));
            get_report(from, to).await
        },
    );
    view! {
        <Title text="Reports · Vigil"/>
        <h1 class="page-title">"Service level report"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading the report…"</p> }>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move {
                    report.await.map(|report| view! { <ReportsPage report month=month.get_untracked()/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_its_first_day_to_the_next_ones() {
        // 2026-01-01T00:00Z and 2026-02-01T00:00Z.
        assert_eq!(month_range("2026-01"), Some((1_767_225_600_000, 1_769_904_000_000)));
        assert_eq!(
            month_range("2026-12").map(|(_, to)| format::date(to)),
            Some("2027-01-01".into())
        );
        for bad in ["2026", "2026-13", "2026-00", "x-01", "1969-12", ""] {
            assert_eq!(month_range(bad), None, "{bad}");
        }
    }
}
