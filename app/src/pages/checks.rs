//! `/checks` and `/checks/NAME`: every health check of an outside service,
//! and one check in detail. The server renders both from the checks query
//! (uptime from the history store included); after hydration `checks`
//! frames keep them live. Lazy routes (see [`super`]).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::load_error;
use crate::checks::{get_check, list_checks, CheckDetailView, ChecksTable};
use crate::live::use_live;

lazy_route!(
    /// `/checks`.
    Checks => checks, in ops
);

lazy_route!(
    /// `/checks/NAME`.
    Check => check, in ops
);

fn checks() -> AnyView {
    let list = Resource::new_blocking(|| (), |_| list_checks());
    let board = use_live().checks;
    view! {
        <Title text="Checks · Vigil"/>
        <h1 class="page-title">"Checks"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading checks…"</p> }>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move {
                    list.await.map(|list| {
                        board.update(|b| b.seed_list(&list));
                        view! { <ChecksTable/> }
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
    .into_any()
}

fn check() -> AnyView {
    let params = use_params_map();
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let detail = Resource::new_blocking(name, get_check);
    let board = use_live().checks;
    view! {
        <Title text=move || format!("{} · Checks · Vigil", name())/>
        <p class="crumbs"><a href="/checks">"Checks"</a> " / "</p>
        <h1 class="page-title">{name}</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading the check…"</p> }>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move {
                    detail.await.map(|detail| {
                        board.update(|b| b.seed_detail(&detail));
                        view! { <CheckDetailView detail/> }
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
    .into_any()
}
