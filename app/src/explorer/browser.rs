//! What only the browser does, all from `Effect`s so it starts after
//! hydration: wait for uPlot's script, build and feed the chart, follow
//! the clock for views that end now, keep the custom-range inputs in local
//! time, and resize the chart with the window.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use leptos::html::{Div, Input};
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use super::chart::{Line, Spec};
use super::data::{chart_columns, Loaded};
use super::state::{now_ms, ChartStatus, View};
use super::uplot::{self, Chart};
use crate::error::ApiError;

/// How often a view that ends now loads again.
const LIVE_EVERY: Duration = Duration::from_secs(3);
/// After a failed load, how many live steps pass before the next try.
const RETRY_EVERY: u32 = 5;
/// How often, and how many times, to look for `window.uPlot`.
const UPLOT_POLL: Duration = Duration::from_millis(50);
const UPLOT_TRIES: u32 = 300;

/// What [`drive_chart`] works with.
pub(crate) struct ChartParts {
    pub view: Memo<View>,
    pub data: Resource<Result<Loaded, ApiError>>,
    pub tick: RwSignal<u64>,
    pub go: Callback<View>,
    pub container: NodeRef<Div>,
    pub canvas: NodeRef<Div>,
    pub status: RwSignal<ChartStatus>,
}

/// Mounts the chart once uPlot is loaded, redraws it on every load, and
/// destroys it with the page.
pub(crate) fn drive_chart(parts: ChartParts) {
    let ChartParts {
        view,
        data,
        tick,
        go,
        container,
        canvas,
        status,
    } = parts;
    let ready = RwSignal::new(uplot::loaded());
    wait_for_uplot(ready, status);
    follow_clock(view, data, tick);

    let chart = StoredValue::new_local(None::<Chart>);
    // Counts the draws asked for, so a deferred draw knows when a newer
    // one has replaced it.
    let draws = StoredValue::new_local(Cell::new(0u64));
    // When the theme's colors change (the header's button, another tab, the
    // system's scheme), the chart is dropped and drawn again: a new one
    // takes the new colors.
    let recolor = ArcTrigger::new();
    let theme_listener = window_event_listener_untyped("vigil:theme", {
        let recolor = recolor.clone();
        move |_| {
            chart.set_value(None);
            recolor.notify();
        }
    });
    let on_zoom: Rc<dyn Fn(i64, i64)> = Rc::new(move |from, to| go.run(view.with_untracked(|v| v.zoomed(from, to))));

    // A page hydrated from the server has the summaries but not the
    // points: load once more, in the browser.
    Effect::new(move |asked: Option<bool>| {
        let hydrated = data.with(|d| matches!(d, Some(Ok(l)) if l.series.is_none()));
        if hydrated && asked != Some(true) {
            tick.update(|t| *t += 1);
            return true;
        }
        asked.unwrap_or(false)
    });

    Effect::new(move |_| {
        if !ready.get() {
            return;
        }
        let (Some(container), Some(canvas)) = (container.get(), canvas.get()) else {
            return;
        };
        // Any run of this effect supersedes a draw still waiting for its task.
        let generation = draws.with_value(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        let mark = {
            let container = container.clone();
            move |points: usize, from: i64, to: i64| {
                let _ = container.set_attribute("data-points", &points.to_string());
                let _ = container.set_attribute("data-from", &from.to_string());
                let _ = container.set_attribute("data-to", &to.to_string());
            }
        };
        let loaded = match data.get() {
            None => return,
            Some(Err(e)) => {
                chart.set_value(None);
                status.set(ChartStatus::Failed(e.to_string()));
                mark(0, 0, 0);
                return;
            }
            Some(Ok(loaded)) => loaded,
        };
        let Some(series) = loaded.series else {
            return;
        };
        // When drawing began (the points in hand), for the render measurement.
        if let Some(now) = window().performance().map(|p| p.now()) {
            let _ = container.set_attribute("data-draw-start", &format!("{now:.1}"));
        }
        if series.is_empty() {
            chart.set_value(None);
            status.set(ChartStatus::NoSeries);
            mark(0, loaded.from, loaded.to);
            return;
        }
        let spec = Spec {
            lines: series
                .iter()
                .map(|s| Line {
                    name: s.series.clone(),
                    unit: s.unit,
                    band: s.points.buckets,
                })
                .collect(),
        };
        // Thinned to what the canvas can show, in device pixels.
        let pixels = canvas.client_width().max(200) as f64 * window().device_pixel_ratio().max(1.0);
        let columns = chart_columns(&series, pixels as usize);
        recolor.track();
        let built = chart.try_update_value(|current| {
            if current.as_ref().is_some_and(|c| *c.spec() == spec) {
                return Ok(false);
            }
            // Drop (and destroy) the old chart before building the new one.
            *current = None;
            *current = Some(Chart::new(&canvas, spec, on_zoom.clone()).map_err(|e| describe(&e))?);
            Ok(true)
        });
        let (from, to) = (loaded.from, loaded.to);
        let draw = move || {
            // A newer load (or the page's end) came first: it draws instead.
            if draws.try_with_value(|n| n.get()) != Some(generation) {
                return;
            }
            chart.try_with_value(|c| {
                if let Some(c) = c {
                    c.draw(&columns, from, to);
                }
            });
            mark(columns.drawn, from, to);
            status.set(if columns.drawn == 0 {
                ChartStatus::NoData
            } else {
                ChartStatus::Drawn
            });
        };
        match built {
            // A new plot draws its points in a task of its own: building it
            // and drawing many points each take tens of milliseconds on a
            // slow phone, and together they would hold up input as one
            // long task (BENCHMARKS.md, Lighthouse).
            Some(Ok(true)) => set_timeout(draw, Duration::ZERO),
            Some(Ok(false)) => draw(),
            Some(Err(why)) => status.set(ChartStatus::Failed(why)),
            None => {}
        }
    });

    let resize = window_event_listener(leptos::ev::resize, move |_| {
        let width = canvas.get_untracked().map(|c| c.client_width());
        if let Some(width) = width.filter(|w| *w > 0) {
            chart.with_value(|c| {
                if let Some(c) = c {
                    c.resize(width as u32);
                }
            });
        }
    });
    on_cleanup(move || {
        resize.remove();
        theme_listener.remove();
        // Destroys the plot; the stored value may already be gone.
        let _ = chart.try_update_value(|c| *c = None);
    });
}

/// Sets `ready` once `window.uPlot` exists (the script loads on its own).
fn wait_for_uplot(ready: RwSignal<bool>, status: RwSignal<ChartStatus>) {
    Effect::new(move |_| {
        if ready.get() {
            return;
        }
        let tries = Cell::new(0u32);
        let poll = move || {
            if uplot::loaded() {
                ready.set(true);
            } else {
                tries.set(tries.get() + 1);
                if tries.get() == UPLOT_TRIES {
                    status.set(ChartStatus::Failed(
                        "the chart library (/vendor/uPlot.iife.min.js) did not load".into(),
                    ));
                }
            }
        };
        if let Ok(handle) = set_interval_with_handle(poll, UPLOT_POLL) {
            on_cleanup(move || handle.clear());
        }
    });
}

/// While the view ends now, loads again every [`LIVE_EVERY`] (not while
/// the tab is hidden, and only every [`RETRY_EVERY`] steps after a failed
/// load, so a view that cannot load does not hammer the server).
fn follow_clock(view: Memo<View>, data: Resource<Result<Loaded, ApiError>>, tick: RwSignal<u64>) {
    Effect::new(move |_| {
        if !view.with(|v| v.span.is_live()) {
            return;
        }
        let skipped = Cell::new(0u32);
        let step = move || {
            if document().hidden() {
                return;
            }
            let failed = data.with_untracked(|d| matches!(d, Some(Err(_))));
            if failed && skipped.get() + 1 < RETRY_EVERY {
                skipped.set(skipped.get() + 1);
                return;
            }
            skipped.set(0);
            tick.update(|t| *t += 1);
        };
        if let Ok(handle) = set_interval_with_handle(step, LIVE_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
}

/// Shows the view's window in the custom-range inputs, in local time,
/// whenever the view changes.
pub(crate) fn follow_inputs(view: Memo<View>, from: NodeRef<Input>, to: NodeRef<Input>, in_browser: RwSignal<bool>) {
    Effect::new(move |_| {
        let (a, b) = view.with(|v| v.span.window(now_ms()));
        if let (Some(from), Some(to)) = (from.get(), to.get()) {
            from.set_value(&format_local(a));
            to.set_value(&format_local(b));
            in_browser.set(true);
        }
    });
}

/// `YYYY-MM-DDTHH:MM` in the browser's time zone.
fn format_local(ms: i64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// A `datetime-local` value, read in the browser's time zone, as Unix ms.
pub(crate) fn parse_local(text: &str) -> Option<i64> {
    if text.trim().is_empty() {
        return None;
    }
    let t = js_sys::Date::new(&JsValue::from_str(text.trim())).get_time();
    t.is_finite().then_some(t as i64)
}

fn describe(e: &JsValue) -> String {
    use wasm_bindgen::JsCast;
    e.dyn_ref::<js_sys::Error>()
        .and_then(|e| e.message().as_string())
        .unwrap_or_else(|| "uPlot could not build the chart".into())
}
