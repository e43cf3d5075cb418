//! The explorer's parts. Everything here renders on the server too: the
//! picker and the range bar reflect the URL's view, the summary rows come
//! from the blocking load. Plain HTML forms and links make the controls
//! work without JavaScript (a full page load each time); in the browser the
//! router takes links over and the forms navigate in place.

use leptos::either::Either;
use leptos::html::{Div, Input};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use super::data::{load, Loaded};
use super::state::{format_datetime_utc, now_ms, ChartStatus, Preset, Span, View, MAX_SERIES, PATH};
use super::units;
use crate::error::ApiError;
use crate::metrics::{list_series, SeriesInfo};

/// The series catalog as the picker needs it.
type Catalog = Resource<Result<Vec<SeriesInfo>, ApiError>>;
/// The selected series over the selected window.
type Data = Resource<Result<Loaded, ApiError>>;

/// The explorer: picker, range bar, chart and summary for the URL's view.
#[component]
pub fn Explorer() -> impl IntoView {
    let query = use_query_map();
    let view = Memo::new(move |_| query.with(|q| View::from_query(|key| q.get_all(key).unwrap_or_default())));
    // Bumped by the live tail (and once after hydration) to load again.
    let tick = RwSignal::new(0u64);
    // Blocking: the server waits for both, so the first paint has the
    // picker filled in and the summary rows with real numbers.
    let host = Memo::new(move |_| view.with(|v| v.host.clone()));
    let catalog: Catalog = Resource::new_blocking(move || host.get(), list_series);
    let data: Data = Resource::new_blocking(move || (view.get(), tick.get()), |(view, _)| load(view));

    let navigate = use_navigate();
    let go = Callback::new(move |next: View| {
        navigate(
            &next.to_url(),
            NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        )
    });

    // Another host's series come from the fleet's engine: say whose they are.
    let whose = move || {
        host.get().map(|h| {
            view! {
                <p class="crumbs" data-testid="explorer-host">
                    <a href="/hosts">"Hosts"</a> " / " <strong>{h}</strong> " (from the metrics engine)"
                </p>
            }
        })
    };
    view! {
        {whose}
        <div class="explorer">
            <SeriesPicker view host catalog go/>
            <div class="explorer-main">
                <RangeBar view host go/>
                <ChartPanel view data tick go/>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    <ErrorBoundary fallback=load_error>
                        {move || Suspend::new(async move {
                            data.await.map(|loaded| view! { <SummaryTable loaded view=view.get_untracked()/> })
                        })}
                    </ErrorBoundary>
                </Transition>
            </div>
        </div>
    }
}

/// Keeps the view's host when a plain form (no JavaScript) reloads the page.
fn host_field(host: Memo<Option<String>>) -> impl IntoView {
    move || {
        host.get()
            .map(|host| view! { <input type="hidden" name="host" value=host/> })
    }
}

fn load_error(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="error" role="alert" data-testid="explorer-error">
            <p>"Could not load this view:"</p>
            <ul>
                {move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()}
            </ul>
            <p><a href=View::default().to_url()>"Back to the default view"</a></p>
        </div>
    }
}

/// Catalog series grouped by metric, in catalog order.
fn groups(list: Vec<SeriesInfo>) -> Vec<(String, String, Vec<SeriesInfo>)> {
    let mut groups: Vec<(String, String, Vec<SeriesInfo>)> = Vec::new();
    for s in list {
        match groups.iter_mut().find(|g| g.0 == s.metric) {
            Some(g) => g.2.push(s),
            None => groups.push((s.metric.clone(), s.help.clone(), vec![s])),
        }
    }
    groups
}

/// How a series is told apart within its metric's group.
fn pick_label(s: &SeriesInfo) -> String {
    if s.labels.is_empty() {
        s.name.clone()
    } else {
        s.labels
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The text the picker's filter looks in: name, help and label values,
/// lower-cased.
fn search_text(s: &SeriesInfo) -> String {
    let mut text = format!("{} {}", s.name, s.help);
    for v in s.labels.values() {
        text.push(' ');
        text.push_str(v);
    }
    text.to_ascii_lowercase()
}

/// CSS that hides the series (and whole groups) not matching `filter`.
/// Filtering by one style rule keeps the checkboxes free of per-row
/// reactive state; characters that could end the CSS string are dropped.
fn filter_rule(filter: &str) -> String {
    let needle: String = filter
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-' | '/' | ':' | '%'))
        .collect::<String>()
        .to_ascii_lowercase();
    if needle.is_empty() {
        return String::new();
    }
    format!(
        ".pick:not([data-search*=\"{needle}\"]){{display:none}}\
         .pick-group:not(:has(.pick[data-search*=\"{needle}\"])){{display:none}}"
    )
}

/// Checkboxes for every series, grouped by metric, with a filter.
#[component]
fn SeriesPicker(view: Memo<View>, host: Memo<Option<String>>, catalog: Catalog, go: Callback<View>) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let count = move || view.with(|v| v.series.len());
    // What the form sends without JavaScript (with it, the form is not sent).
    let initial = view.get_untracked();
    let (range, from, to) = match initial.span {
        Span::Last(p) => (p.key().to_string(), String::new(), String::new()),
        Span::Between { from, to } => (String::new(), from.to_string(), to.to_string()),
    };
    let checkbox = move |s: SeriesInfo| {
        let name = s.name.clone();
        let checked = {
            let name = name.clone();
            move || view.with(|v| v.series.contains(&name))
        };
        let toggle = {
            let name = name.clone();
            move |ev: leptos::ev::Event| {
                let (was, next) = view.with_untracked(|v| (v.series.len(), v.toggled(&name)));
                if next.series.len() == was {
                    // Full: the view did not take it, so neither does the box.
                    event_target::<leptos::web_sys::HtmlInputElement>(&ev).set_checked(false);
                    return;
                }
                go.run(next)
            }
        };
        view! {
            <label class="pick" data-search=search_text(&s) title=s.help.clone()>
                <input
                    type="checkbox"
                    name="series"
                    value=name
                    checked=checked()
                    prop:checked=checked
                    on:change=toggle
                />
                <span>{pick_label(&s)}</span>
            </label>
        }
    };
    let group = move |(metric, help, series): (String, String, Vec<SeriesInfo>)| {
        view! {
            <fieldset class="pick-group">
                <legend title=help>{metric}</legend>
                {series.into_iter().map(checkbox).collect_view()}
            </fieldset>
        }
    };
    view! {
        <aside class="picker" aria-label="Series">
            <details data-testid="series-picker" open>
                <summary>
                    "Series " <span class="muted">{move || format!("({} of at most {MAX_SERIES} selected)", count())}</span>
                </summary>
                // As a property, not a child: a <style> holds raw text, where
                // hydration markers would not survive.
                <style inner_html=move || filter.with(|f| filter_rule(f))></style>
                <form method="get" action=PATH on:submit=|ev| ev.prevent_default()>
                    <label class="picker-filter">
                        <span class="sr-only">"Filter series"</span>
                        <input
                            type="search"
                            placeholder="Filter series"
                            autocomplete="off"
                            on:input=move |ev| filter.set(event_target_value(&ev))
                        />
                    </label>
                    <div class="pick-list">
                        <Transition fallback=|| view! { <p class="muted">"Loading series…"</p> }>
                            <ErrorBoundary fallback=load_error>
                                {move || Suspend::new(async move {
                                    catalog.await.map(|list| groups(list).into_iter().map(group).collect_view())
                                })}
                            </ErrorBoundary>
                        </Transition>
                    </div>
                    <input type="hidden" name="range" value=range/>
                    <input type="hidden" name="from" value=from/>
                    <input type="hidden" name="to" value=to/>
                    {host_field(host)}
                    <button type="submit" class="nojs-only">"Show"</button>
                </form>
            </details>
        </aside>
    }
}

/// Presets, a custom window, "Reset zoom" and the live marker.
#[component]
fn RangeBar(view: Memo<View>, host: Memo<Option<String>>, go: Callback<View>) -> impl IntoView {
    let from_input = NodeRef::<Input>::new();
    let to_input = NodeRef::<Input>::new();
    let custom_error = RwSignal::new(String::new());
    // The server writes UTC times; the browser switches the inputs to local time.
    let in_browser = RwSignal::new(false);
    let (from0, to0) = view.with_untracked(|v| v.span.window(now_ms()));

    #[cfg(feature = "hydrate")]
    super::browser::follow_inputs(view, from_input, to_input, in_browser);

    let apply = move || {
        let read = |input: NodeRef<Input>| input.get_untracked().map(|i| i.value()).unwrap_or_default();
        let (from, to) = (parse_local(&read(from_input)), parse_local(&read(to_input)));
        match (from, to) {
            (Some(from), Some(to)) if from < to => {
                custom_error.set(String::new());
                go.run(view.with_untracked(|v| v.with_span(Span::Between { from, to })));
            }
            (Some(_), Some(_)) => custom_error.set("“From” must be before “To”.".into()),
            _ => custom_error.set("Enter both times.".into()),
        }
    };

    let preset = move |p: Preset| {
        let href = move || view.with(|v| v.with_span(Span::Last(p)).to_url());
        let current = move || view.with(|v| v.span == Span::Last(p)).then_some("true");
        view! {
            <a class="preset" href=href aria-current=current data-testid=format!("range-preset-{}", p.key())>
                {p.label()}
            </a>
        }
    };

    view! {
        <div class="range-bar">
            <div class="presets" role="group" aria-label="Time range presets">
                <span class="muted">"Last"</span>
                {Preset::ALL.into_iter().map(preset).collect_view()}
            </div>
            <button
                type="button"
                class="reset-zoom"
                data-testid="reset-zoom"
                disabled=move || !view.with(View::is_zoomed)
                on:click=move |_| go.run(view.with_untracked(View::reset_zoom))
            >
                "Reset zoom"
            </button>
            <span class="live" data-testid="live-tail" hidden=move || !view.with(|v| v.span.is_live())>
                <span class="live-dot" aria-hidden="true"></span>
                "live"
            </span>
        </div>
        <form
            class="custom-range"
            method="get"
            action=PATH
            on:submit=move |ev| {
                ev.prevent_default();
                apply();
            }
        >
            <input type="hidden" name="series" value=view.with_untracked(|v| v.series.join(","))/>
            {host_field(host)}
            <label>
                "From "
                <input type="datetime-local" name="from" required node_ref=from_input value=format_datetime_utc(from0)/>
            </label>
            <label>
                "To "
                <input type="datetime-local" name="to" required node_ref=to_input value=format_datetime_utc(to0)/>
            </label>
            <span class="muted tz">{move || if in_browser.get() { "local time" } else { "UTC" }}</span>
            <button type="submit">"Apply"</button>
            // Hidden while empty: the auth pages' style draws a box around
            // `.form-error`, and a hydrated empty text node defeats `:empty`.
            <span class="form-error" role="alert" hidden=move || custom_error.with(String::is_empty)>
                {custom_error}
            </span>
        </form>
    }
}

/// A `datetime-local` value as Unix ms: local time in the browser.
fn parse_local(text: &str) -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        super::browser::parse_local(text)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        super::state::parse_datetime_utc(text)
    }
}

/// Hides what uPlot marks with [`super::chart::BAND_EDGE`].
const BAND_EDGE_STYLE: &str = ".u-legend .band-edge,.u-cursor-pt.band-edge{display:none}";

/// The chart's box. The server renders it empty; in the browser
/// [`super::browser::drive_chart`] mounts uPlot in it after hydration.
#[component]
fn ChartPanel(view: Memo<View>, data: Data, tick: RwSignal<u64>, go: Callback<View>) -> impl IntoView {
    let container = NodeRef::<Div>::new();
    let canvas = NodeRef::<Div>::new();
    let status = RwSignal::new(ChartStatus::Loading);

    #[cfg(feature = "hydrate")]
    super::browser::drive_chart(super::browser::ChartParts {
        view,
        data,
        tick,
        go,
        container,
        canvas,
        status,
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (view, data, tick, go);

    view! {
        <figure class="chart-card">
            // The min and max series of a band stay out of the legend and
            // the cursor (as a property: a <style> holds raw text).
            <style inner_html=BAND_EDGE_STYLE></style>
            <div class="explorer-chart" data-testid="explorer-chart" node_ref=container>
                <p class="chart-status muted" role="status" hidden=move || status.with(|s| *s == ChartStatus::Drawn)>
                    {move || status.with(ChartStatus::text)}
                </p>
                <div class="chart-canvas" node_ref=canvas></div>
            </div>
            <figcaption class="muted">
                "Drag across the chart to zoom in; click a series in the legend to hide it."
            </figcaption>
        </figure>
    }
}

/// One row per selected series: latest, min, max and average over the window.
#[component]
fn SummaryTable(loaded: Loaded, view: View) -> impl IntoView {
    if loaded.rows.is_empty() {
        return Either::Left(view! { <p class="muted" data-testid="summary-empty">"No series selected."</p> });
    }
    let when = match view.span {
        Span::Last(p) => format!("last {}", p.label()),
        Span::Between { .. } => format!(
            "{} to {} UTC",
            format_datetime_utc(loaded.from).replace('T', " "),
            format_datetime_utc(loaded.to).replace('T', " ")
        ),
    };
    let resolution = loaded.rows.first().map_or(String::new(), |r| {
        format!(" · one point per {} ({} tier)", step_text(r.step_ms), r.tier)
    });
    let rows = loaded
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let f = move |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| units::value(s.unit, v));
            view! {
                <tr data-testid="summary-row" data-series=s.series.clone()>
                    <th scope="row">
                        <span class=format!("swatch swatch-{}", i % 8) aria-hidden="true"></span>
                        // Narrow screens may break long names after `_` and `.`.
                        {s.series.split_inclusive(['_', '.']).map(|part| view! { {part.to_string()}<wbr/> }).collect_view()}
                    </th>
                    <td class="col-unit">{units::name(s.unit)}</td>
                    <td class="num" data-testid="summary-latest">{f(s.latest)}</td>
                    <td class="num">{f(s.min)}</td>
                    <td class="num">{f(s.max)}</td>
                    <td class="num">{f(s.avg)}</td>
                    <td class="num" data-testid="summary-points">{s.points}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <div class="scroll summary">
            <table class="table">
                <caption>{format!("Over the {when}{resolution}")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"series"</th>
                        <th scope="col" class="col-unit">"unit"</th>
                        <th scope="col" class="num">"latest"</th>
                        <th scope="col" class="num">"min"</th>
                        <th scope="col" class="num">"max"</th>
                        <th scope="col" class="num">"avg"</th>
                        <th scope="col" class="num">"points"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    })
}

/// A bucket width: `1 s`, `2.4 s`, `5 min`, `1 h`.
fn step_text(ms: i64) -> String {
    let s = ms as f64 / 1000.0;
    if s < 60.0 {
        format!("{} s", trim(s))
    } else if s < 3600.0 {
        format!("{} min", trim(s / 60.0))
    } else {
        format!("{} h", trim(s / 3600.0))
    }
}

fn trim(v: f64) -> String {
    let text = format!("{v:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_edges_are_hidden_by_their_class() {
        assert_eq!(BAND_EDGE_STYLE.matches(super::super::chart::BAND_EDGE).count(), 2);
    }

    #[test]
    fn bucket_widths_read_well() {
        assert_eq!(step_text(1000), "1 s");
        assert_eq!(step_text(2400), "2.4 s");
        assert_eq!(step_text(300_000), "5 min");
        assert_eq!(step_text(3_600_000), "1 h");
    }

    #[test]
    fn series_are_grouped_by_metric_in_catalog_order() {
        let info = |name: &str, metric: &str, label: Option<(&str, &str)>| SeriesInfo {
            name: name.into(),
            metric: metric.into(),
            help: format!("help for {metric}"),
            unit: crate::metrics::Unit::Percent,
            kind: crate::metrics::Kind::Gauge,
            labels: label.map(|(k, v)| (k.to_string(), v.to_string())).into_iter().collect(),
        };
        let list = vec![
            info("cpu_usage_percent", "cpu_usage_percent", None),
            info(
                "filesystem_used_percent.root",
                "filesystem_used_percent",
                Some(("mount", "/")),
            ),
            info(
                "filesystem_used_percent.var",
                "filesystem_used_percent",
                Some(("mount", "/var")),
            ),
        ];
        let g = groups(list.clone());
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].2.len(), 2);
        assert_eq!(pick_label(&list[1]), "mount /");
        assert_eq!(pick_label(&list[0]), "cpu_usage_percent");
        assert_eq!(
            search_text(&list[2]),
            "filesystem_used_percent.var help for filesystem_used_percent /var"
        );
        assert_eq!(filter_rule("  "), "");
        assert_eq!(
            filter_rule("Root\"}x"),
            ".pick:not([data-search*=\"rootx\"]){display:none}\
             .pick-group:not(:has(.pick[data-search*=\"rootx\"])){display:none}"
        );
    }
}
