//! The overview dashboard: one card per resource, kept live by the app's
//! [`LiveStore`]. Cards read only the signals they draw: the current sample,
//! the history (sparklines) or the host facts. Lists are keyed (`<For>`),
//! so a tick updates the text of existing rows instead of rebuilding them.

use std::fmt::Write as _;

use leptos::prelude::*;

use super::Sample;
use crate::format;
use crate::live::{use_live, LiveStore};

const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 32.0;

/// The overview's cards, drawn from the app's live store.
#[component]
pub fn Dashboard() -> impl IntoView {
    let live = use_live();
    view! {
        <UpdateLine live/>
        <StaleNotice live/>
        <div class="grid">
            <CpuCard live/>
            <MemoryCard live/>
            <NetworkCard live/>
            <StorageCard live/>
            <SelfCard live/>
        </div>
    }
}

/// A reactive text read from the current sample.
fn text(live: LiveStore, f: fn(&Sample) -> String) -> impl Fn() -> String + Copy {
    move || live.current.with(f)
}

#[component]
fn UpdateLine(live: LiveStore) -> impl IntoView {
    let ts = move || live.current.with(|s| s.ts);
    let seq = move || live.seq.get();
    let host = move || live.facts.with(|f| f.host.clone());
    let interval = move || {
        live.facts
            .with(|f| format!("every {:.0} s", f.interval_ms as f64 / 1000.0))
    };
    let system = move || {
        let ts = ts();
        live.facts.with(|f| {
            let s = &f.system;
            format!(
                "{} · kernel {} · {} × {} · up {}",
                s.os,
                s.kernel,
                s.logical_cores,
                s.cpu_model,
                s.uptime_at(ts)
            )
        })
    };
    view! {
        <p class="update-line">
            <span class="host">{host}</span>
            " · " <span data-testid="system-info">{system}</span>
            " · sampled " {interval} " · last sample "
            <time data-testid="last-update" data-ts=ts data-seq=seq>
                {move || format::clock(ts())}
            </time>
        </p>
    }
}

/// Says plainly when what the page shows is old: the live link is down and
/// the newest sample is older than a few intervals (an offline start from
/// the service worker's cached page, or a server that went away). Only in
/// the browser: the server's render is always current.
#[component]
fn StaleNotice(live: LiveStore) -> impl IntoView {
    // 0 on the server and while hydrating, so both render the same (nothing).
    let now = RwSignal::new(0i64);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| now.set(js_sys::Date::now() as i64));
        if let Ok(handle) = set_interval_with_handle(
            move || now.set(js_sys::Date::now() as i64),
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    let stale = move || {
        let now = now.get();
        let ts = live.current.with(|s| s.ts);
        let interval = live.facts.with(|f| f.interval_ms.max(1000)) as i64;
        let live_now = live.state.get() == crate::live::ConnState::Connected;
        (now > 0 && !live_now && ts > 0 && now - ts > 3 * interval).then_some((ts, now - ts))
    };
    move || {
        stale().map(|(ts, age)| {
            view! {
                <p class="stale" role="status" data-testid="stale-notice" data-ts=ts>
                    <strong>"Not live."</strong>
                    " Showing the last update, " {format::clock(ts)} ", " {format::age(age)} " ago."
                </p>
            }
        })
    }
}

#[component]
fn CpuCard(live: LiveStore) -> impl IntoView {
    let spark = Memo::new(move |_| {
        live.history
            .with(|h| spark_points(h.points.iter().map(|p| p.cpu as f64), Some(100.0)))
    });
    let cores = Memo::new(move |_| live.current.with(|s| s.cpu.cores.len()));
    let core = move |i: usize| {
        let pct = move || live.current.with(|s| s.cpu.cores.get(i).copied().unwrap_or_default());
        let title = move || format!("core {i}: {}", format::percent(pct() as f64));
        view! { <span class="core" role="img" title=title aria-label=title style:height=move || format!("{:.0}%", pct().clamp(0.0, 100.0))></span> }
    };
    view! {
        <section class="card" aria-labelledby="cpu-h">
            <h2 id="cpu-h">"CPU"</h2>
            <p class="big" data-testid="cpu-total">{text(live, |s| format::percent(s.cpu.total as f64))}</p>
            <Sparkline points=spark testid="sparkline-cpu" label="CPU usage, recent"/>
            <div class="cores" aria-label="usage per core">
                <For each=move || 0..cores.get() key=|i| *i children=core/>
            </div>
            <dl class="facts">
                <dt>"load 1 m"</dt><dd data-testid="load-1">{text(live, |s| format!("{:.2}", s.load.one))}</dd>
                <dt>"5 m"</dt><dd>{text(live, |s| format!("{:.2}", s.load.five))}</dd>
                <dt>"15 m"</dt><dd>{text(live, |s| format!("{:.2}", s.load.fifteen))}</dd>
            </dl>
        </section>
    }
}

#[component]
fn MemoryCard(live: LiveStore) -> impl IntoView {
    let used_pct = move || live.current.with(|s| s.memory.used_pct());
    let spark = Memo::new(move |_| {
        live.history
            .with(|h| spark_points(h.points.iter().map(|p| p.mem as f64), Some(100.0)))
    });
    let pids = Memo::new(move |_| {
        live.current
            .with(|s| s.memory.top.iter().map(|p| p.pid).collect::<Vec<_>>())
    });
    let row = move |pid: u32| {
        let name = move || {
            live.current.with(|s| {
                s.memory
                    .top
                    .iter()
                    .find(|p| p.pid == pid)
                    .map(|p| p.name.clone())
                    .unwrap_or_default()
            })
        };
        let bytes = move || {
            live.current
                .with(|s| format::bytes(s.memory.top.iter().find(|p| p.pid == pid).map_or(0, |p| p.bytes)))
        };
        view! {
            <tr>
                <td class="name" title=name>{name}</td>
                <td class="num">{pid}</td>
                <td class="num">{bytes}</td>
            </tr>
        }
    };
    view! {
        <section class="card" aria-labelledby="mem-h">
            <h2 id="mem-h">"Memory"</h2>
            <p class="big">
                <span data-testid="mem-used">{text(live, |s| format::bytes(s.memory.used))}</span>
                <span class="of">" of "</span>
                <span data-testid="mem-total">{text(live, |s| format::bytes(s.memory.total))}</span>
            </p>
            <Meter pct=Signal::derive(used_pct) label="RAM used"/>
            <Sparkline points=spark testid="sparkline-mem" label="RAM used, recent"/>
            <dl class="facts">
                <dt>"available"</dt><dd>{text(live, |s| format::bytes(s.memory.available))}</dd>
                <dt>"swap"</dt>
                <dd>{text(live, |s| format!("{} of {}", format::bytes(s.memory.swap_used), format::bytes(s.memory.swap_total)))}</dd>
            </dl>
            <table class="table">
                <caption>"Top processes by memory"</caption>
                <thead><tr><th scope="col">"process"</th><th scope="col" class="num">"pid"</th><th scope="col" class="num">"resident"</th></tr></thead>
                <tbody><For each=move || pids.get() key=|pid| *pid children=row/></tbody>
            </table>
        </section>
    }
}

#[component]
fn NetworkCard(live: LiveStore) -> impl IntoView {
    // One scale for both directions, so in and out compare at a glance.
    let peak = Memo::new(move |_| {
        live.history
            .with(|h| h.points.iter().map(|p| p.rx.max(p.tx)).fold(1.0, f64::max))
    });
    let rx = Memo::new(move |_| {
        live.history
            .with(|h| spark_points(h.points.iter().map(|p| p.rx), Some(peak.get())))
    });
    let tx = Memo::new(move |_| {
        live.history
            .with(|h| spark_points(h.points.iter().map(|p| p.tx), Some(peak.get())))
    });
    let names = Memo::new(move |_| {
        live.current
            .with(|s| s.net.iter().map(|n| n.name.clone()).collect::<Vec<_>>())
    });
    let row = move |name: String| {
        let key = name.clone();
        let rate = move |rx: bool| {
            let key = key.clone();
            move || {
                live.current.with(|s| {
                    let n = s.net.iter().find(|n| n.name == key);
                    format::rate(n.map_or(0.0, |n| if rx { n.rx_bps } else { n.tx_bps }))
                })
            }
        };
        view! {
            <tr data-testid="net-row">
                <th scope="row">{name}</th>
                <td class="num">{rate(true)}</td>
                <td class="num">{rate(false)}</td>
            </tr>
        }
    };
    view! {
        <section class="card" aria-labelledby="net-h">
            <h2 id="net-h">"Network"</h2>
            <div class="sparks">
                <Sparkline points=rx testid="sparkline-rx" label="in, all interfaces but lo"/>
                <Sparkline points=tx testid="sparkline-tx" label="out, all interfaces but lo"/>
            </div>
            <table class="table">
                <thead><tr><th scope="col">"interface"</th><th scope="col" class="num">"in"</th><th scope="col" class="num">"out"</th></tr></thead>
                <tbody><For each=move || names.get() key=|n| n.clone() children=row/></tbody>
            </table>
        </section>
    }
}

#[component]
fn StorageCard(live: LiveStore) -> impl IntoView {
    let io = Memo::new(move |_| {
        live.history
            .with(|h| spark_points(h.points.iter().map(|p| p.rd + p.wr), None))
    });
    let mounts = Memo::new(move |_| {
        live.current
            .with(|s| s.disks.iter().map(|d| d.mount.clone()).collect::<Vec<_>>())
    });
    let row = move |mount: String| {
        let m = mount.clone();
        let disk = move |f: fn(&super::Disk) -> String| {
            let m = m.clone();
            move || {
                live.current
                    .with(|s| s.disks.iter().find(|d| d.mount == m).map(f).unwrap_or_default())
            }
        };
        let m = mount.clone();
        let pct = Signal::derive(move || {
            live.current
                .with(|s| s.disks.iter().find(|d| d.mount == m).map_or(0.0, |d| d.used_pct()))
        });
        // When it will be full, if the fill forecast says so.
        let series = format!("filesystem_used_percent.{}", super::slug(&mount));
        let full_in = Memo::new(move |_| {
            let now = live.current.with(|s| s.ts);
            live.alerts.with(|a| {
                a.as_ref()?
                    .forecasts
                    .iter()
                    .find(|f| f.series == series)
                    .map(|f| f.full_in(now))
            })
        });
        view! {
            <tr data-testid="disk-row">
                <th scope="row" title=disk(|d| format!("{} ({})", d.device, d.fs))>{mount}</th>
                <td class="num">
                    <span data-testid="disk-used-pct">{move || format::percent(pct.get())}</span>
                    <Meter pct label="used"/>
                    {move || full_in.get().map(|text| view! { <br/><small class="forecast" data-testid="disk-forecast">{text}</small> })}
                </td>
                <td class="num" data-testid="disk-available">{disk(|d| format::bytes(d.available))}</td>
                <td class="num">{disk(|d| format::bytes(d.reserved))}</td>
                <td class="num">{disk(|d| format::rate(d.read_bps))}<br/><small>{disk(|d| format::per_second(d.read_iops))} " op/s"</small></td>
                <td class="num">{disk(|d| format::rate(d.write_bps))}<br/><small>{disk(|d| format::per_second(d.write_iops))} " op/s"</small></td>
            </tr>
        }
    };
    view! {
        <section class="card wide" aria-labelledby="disk-h">
            <h2 id="disk-h">"Storage"</h2>
            <Sparkline points=io testid="sparkline-disk" label="disk read + write, recent"/>
            <div class="scroll">
                <table class="table">
                    <thead><tr>
                        <th scope="col">"mount"</th><th scope="col" class="num">"used"</th><th scope="col" class="num">"available"</th>
                        <th scope="col" class="num" title="free space only root may use">"reserved"</th>
                        <th scope="col" class="num">"read"</th><th scope="col" class="num">"write"</th>
                    </tr></thead>
                    <tbody><For each=move || mounts.get() key=|m| m.clone() children=row/></tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn SelfCard(live: LiveStore) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="self-h">
            <h2 id="self-h">"Vigil"</h2>
            <dl class="facts">
                <dt>"live clients"</dt><dd data-testid="ws-clients">{text(live, |s| s.vigil.ws_clients.to_string())}</dd>
                <dt>"frames sent"</dt><dd>{text(live, |s| format!("{}/s", format::per_second(s.vigil.frames_per_s)))}</dd>
                <dt>"broadcast lag"</dt><dd>{text(live, |s| format!("{:.1} ms", s.vigil.broadcast_lag_ms))}</dd>
                <dt>"clients resynced"</dt><dd>{text(live, |s| s.vigil.lagged_total.to_string())}</dd>
                <dt>"collector"</dt><dd>{text(live, |s| format!("{:.1} ms", s.vigil.collector_ms))}</dd>
                <dt>"memory"</dt><dd>{text(live, |s| format::bytes(s.vigil.rss))}</dd>
                <dt>"cpu"</dt><dd>{text(live, |s| format::percent(s.vigil.cpu as f64))}</dd>
                <dt>"store write"</dt><dd data-testid="store-write">{text(live, |s| format!("{:.1} ms", s.vigil.store_write_ms))}</dd>
                <dt>"store size"</dt><dd data-testid="store-size">{text(live, |s| format::bytes(s.vigil.store_bytes))}</dd>
                // The push to the fleet's engine, when [remote_write] is set.
                <Show when=move || live.current.with(|s| s.vigil.remote_write.is_some())>
                    <dt>"remote write queue"</dt>
                    <dd data-testid="rw-queue">{text(live, |s| rw(s, |w| format!("{} of {} samples", w.queued, w.capacity)))}</dd>
                    <dt>"remote write request"</dt>
                    <dd data-testid="rw-latency">{text(live, |s| rw(s, |w| format!("{:.1} ms", w.last_send_ms)))}</dd>
                    <dt>"remote write failures"</dt>
                    <dd data-testid="rw-failures">{text(live, |s| rw(s, |w| format!("{} requests failed, {} samples dropped", w.failed_sends_total, w.dropped_total)))}</dd>
                </Show>
            </dl>
        </section>
    }
}

/// A remote-write figure, empty while the push is off.
fn rw(s: &Sample, f: fn(&super::RemoteWriteFigures) -> String) -> String {
    s.vigil.remote_write.as_ref().map(f).unwrap_or_default()
}

/// A horizontal bar for a percentage.
#[component]
fn Meter(#[prop(into)] pct: Signal<f64>, label: &'static str) -> impl IntoView {
    let level = move || match pct.get() {
        p if p >= 90.0 => "meter high",
        p if p >= 75.0 => "meter mid",
        _ => "meter",
    };
    view! {
        <span class=level role="meter" aria-label=label aria-valuemin="0" aria-valuemax="100" aria-valuenow=move || format!("{:.0}", pct.get())>
            <span style:width=move || format!("{:.1}%", pct.get().clamp(0.0, 100.0))></span>
        </span>
    }
}

/// A small line chart of recent values.
#[component]
pub fn Sparkline(#[prop(into)] points: Signal<String>, testid: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <figure class="spark-fig">
            <figcaption>{label}</figcaption>
            <svg class="spark" data-testid=testid viewBox=format!("0 0 {SPARK_W} {SPARK_H}") preserveAspectRatio="none" role="img" aria-label=label>
                <polyline points=points vector-effect="non-scaling-stroke"/>
            </svg>
        </figure>
    }
}

/// SVG polyline points for `values`, scaled into the sparkline box. With no
/// `max`, the largest value fills the height.
pub fn spark_points(values: impl ExactSizeIterator<Item = f64> + Clone, max: Option<f64>) -> String {
    polyline_points(values, max, SPARK_W, SPARK_H)
}

/// SVG polyline points for `values` in a `w` x `h` box, evenly spaced
/// left to right, 0 at the bottom. With no `max`, the largest value fills
/// the height.
///
/// This runs for every sparkline on every tick (600 points each), so it
/// writes into one string with no allocation per point, and prints the
/// one-decimal coordinates from integers: float formatting was most of the
/// cost in the browser.
pub fn polyline_points(values: impl ExactSizeIterator<Item = f64> + Clone, max: Option<f64>, w: f64, h: f64) -> String {
    let n = values.len();
    if n < 2 {
        return String::new();
    }
    let max = max
        .unwrap_or_else(|| values.clone().fold(0.0, f64::max))
        .max(f64::EPSILON);
    let step = w / (n - 1) as f64;
    let mut out = String::with_capacity(n * 10);
    for (i, v) in values.enumerate() {
        let y = h - (v / max).clamp(0.0, 1.0) * h;
        if i > 0 {
            out.push(' ');
        }
        push_tenths(&mut out, i as f64 * step);
        out.push(',');
        push_tenths(&mut out, y);
    }
    out
}

/// Appends a non-negative `value` rounded to one decimal, e.g. `12.5`.
fn push_tenths(out: &mut String, value: f64) {
    let tenths = (value.max(0.0) * 10.0).round() as u64;
    // Writing into a String cannot fail.
    let _ = write!(out, "{}.{}", tenths / 10, tenths % 10);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_into_the_box() {
        assert_eq!(
            spark_points([0.0, 50.0, 100.0].into_iter(), Some(100.0)),
            "0.0,32.0 60.0,16.0 120.0,0.0"
        );
        assert_eq!(spark_points([1.0, 2.0].into_iter(), None), "0.0,16.0 120.0,0.0");
        assert_eq!(spark_points([5.0].into_iter(), None), "", "one point draws nothing");
        assert_eq!(spark_points([0.0, 0.0].into_iter(), None), "0.0,32.0 120.0,32.0");
    }

    #[test]
    fn tenths_round_like_the_formatter() {
        let mut s = String::new();
        for v in [0.0, 0.04, 0.05, 12.34, 119.99, 31.96] {
            s.clear();
            push_tenths(&mut s, v);
            assert_eq!(s, format!("{v:.1}"), "{v}");
        }
    }
}
