//! The overview dashboard: one card per resource, updated live.

use leptos::prelude::*;

use super::Snapshot;
use crate::format;
use crate::live::{use_live, LiveData};

const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 32.0;

/// The overview's cards, seeded from `snapshot` and kept live.
#[component]
pub fn Dashboard(snapshot: Snapshot) -> impl IntoView {
    let data = use_live(snapshot);
    view! {
        <UpdateLine data/>
        <div class="grid">
            <CpuCard data/>
            <MemoryCard data/>
            <NetworkCard data/>
            <StorageCard data/>
            <SelfCard data/>
        </div>
    }
}

#[component]
fn UpdateLine(data: RwSignal<LiveData>) -> impl IntoView {
    let ts = move || data.with(|d| d.current.ts);
    let seq = move || data.with(|d| d.seq);
    let host = move || data.with(|d| d.host.clone());
    let interval = move || data.with(|d| format!("every {:.0} s", d.interval_ms as f64 / 1000.0));
    let system = move || {
        data.with(|d| {
            let s = &d.system;
            format!(
                "{} · kernel {} · {} × {} · up {}",
                s.os,
                s.kernel,
                s.logical_cores,
                s.cpu_model,
                s.uptime_at(d.current.ts)
            )
        })
    };
    view! {
        <p class="update-line">
            <span class="host">{host}</span>
            " · " <span data-testid="system-info">{system}</span>
            " · sampled " {interval} " · last sample "
            <time data-testid="last-update" data-ts=ts data-seq=seq>
                {move || clock_time(ts())}
            </time>
        </p>
    }
}

#[component]
fn CpuCard(data: RwSignal<LiveData>) -> impl IntoView {
    let total = move || data.with(|d| format::percent(d.current.cpu.total as f64));
    let spark = Memo::new(move |_| data.with(|d| spark_points(d.history.iter().map(|p| p.cpu as f64), Some(100.0))));
    let load = move |f: fn(&LiveData) -> f64| move || data.with(|d| format!("{:.2}", f(d)));
    let cores = move || {
        data.with(|d| {
            d.current
                .cpu
                .cores
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let title = format!("core {i}: {}", format::percent(*c as f64));
                    view! { <span class="core" title=title.clone() aria-label=title style:height=format!("{:.0}%", c.clamp(0.0, 100.0))></span> }
                })
                .collect_view()
        })
    };
    view! {
        <section class="card" aria-labelledby="cpu-h">
            <h2 id="cpu-h">"CPU"</h2>
            <p class="big" data-testid="cpu-total">{total}</p>
            <Sparkline points=spark testid="sparkline-cpu" label="CPU usage, recent"/>
            <div class="cores" aria-label="usage per core">{cores}</div>
            <dl class="facts">
                <dt>"load 1 m"</dt><dd data-testid="load-1">{load(|d| d.current.load.one)}</dd>
                <dt>"5 m"</dt><dd>{load(|d| d.current.load.five)}</dd>
                <dt>"15 m"</dt><dd>{load(|d| d.current.load.fifteen)}</dd>
            </dl>
        </section>
    }
}

#[component]
fn MemoryCard(data: RwSignal<LiveData>) -> impl IntoView {
    let mem = move |f: fn(&LiveData) -> String| move || data.with(f);
    let used_pct = move || data.with(|d| d.current.memory.used_pct());
    let spark = Memo::new(move |_| data.with(|d| spark_points(d.history.iter().map(|p| p.mem as f64), Some(100.0))));
    let top = move || {
        data.with(|d| {
            d.current
                .memory
                .top
                .iter()
                .map(|p| {
                    view! {
                        <tr>
                            <td class="name" title=p.name.clone()>{p.name.clone()}</td>
                            <td class="num">{p.pid}</td>
                            <td class="num">{format::bytes(p.bytes)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="card" aria-labelledby="mem-h">
            <h2 id="mem-h">"Memory"</h2>
            <p class="big">
                <span data-testid="mem-used">{mem(|d| format::bytes(d.current.memory.used))}</span>
                <span class="of">" of "</span>
                <span data-testid="mem-total">{mem(|d| format::bytes(d.current.memory.total))}</span>
            </p>
            <Meter pct=Signal::derive(used_pct) label="RAM used"/>
            <Sparkline points=spark testid="sparkline-mem" label="RAM used, recent"/>
            <dl class="facts">
                <dt>"available"</dt><dd>{mem(|d| format::bytes(d.current.memory.available))}</dd>
                <dt>"swap"</dt>
                <dd>{mem(|d| format!("{} of {}", format::bytes(d.current.memory.swap_used), format::bytes(d.current.memory.swap_total)))}</dd>
            </dl>
            <table class="table">
                <caption>"Top processes by memory"</caption>
                <thead><tr><th scope="col">"process"</th><th scope="col" class="num">"pid"</th><th scope="col" class="num">"resident"</th></tr></thead>
                <tbody>{top}</tbody>
            </table>
        </section>
    }
}

#[component]
fn NetworkCard(data: RwSignal<LiveData>) -> impl IntoView {
    // One scale for both directions, so in and out compare at a glance.
    let peak = Memo::new(move |_| data.with(|d| d.history.iter().map(|p| p.rx.max(p.tx)).fold(1.0, f64::max)));
    let rx = Memo::new(move |_| data.with(|d| spark_points(d.history.iter().map(|p| p.rx), Some(peak.get()))));
    let tx = Memo::new(move |_| data.with(|d| spark_points(d.history.iter().map(|p| p.tx), Some(peak.get()))));
    let rows = move || {
        data.with(|d| {
            d.current
                .net
                .iter()
                .map(|n| {
                    view! {
                        <tr data-testid="net-row">
                            <th scope="row">{n.name.clone()}</th>
                            <td class="num">{format::rate(n.rx_bps)}</td>
                            <td class="num">{format::rate(n.tx_bps)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
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
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

#[component]
fn StorageCard(data: RwSignal<LiveData>) -> impl IntoView {
    let io = Memo::new(move |_| data.with(|d| spark_points(d.history.iter().map(|p| p.rd + p.wr), None)));
    let rows = move || {
        data.with(|d| {
            d.current
                .disks
                .iter()
                .map(|disk| {
                    let pct = disk.used_pct();
                    view! {
                        <tr data-testid="disk-row">
                            <th scope="row" title=format!("{} ({})", disk.device, disk.fs)>{disk.mount.clone()}</th>
                            <td class="num">
                                {format::percent(pct)}
                                <Meter pct=Signal::stored(pct) label="used"/>
                            </td>
                            <td class="num">{format::bytes(disk.free)}</td>
                            <td class="num">{format::rate(disk.read_bps)}<br/><small>{format::per_second(disk.read_iops)} " op/s"</small></td>
                            <td class="num">{format::rate(disk.write_bps)}<br/><small>{format::per_second(disk.write_iops)} " op/s"</small></td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="card wide" aria-labelledby="disk-h">
            <h2 id="disk-h">"Storage"</h2>
            <Sparkline points=io testid="sparkline-disk" label="disk read + write, recent"/>
            <div class="scroll">
                <table class="table">
                    <thead><tr>
                        <th scope="col">"mount"</th><th scope="col" class="num">"used"</th><th scope="col" class="num">"free"</th>
                        <th scope="col" class="num">"read"</th><th scope="col" class="num">"write"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn SelfCard(data: RwSignal<LiveData>) -> impl IntoView {
    let v = move |f: fn(&LiveData) -> String| move || data.with(f);
    view! {
        <section class="card" aria-labelledby="self-h">
            <h2 id="self-h">"Vigil"</h2>
            <dl class="facts">
                <dt>"live clients"</dt><dd data-testid="ws-clients">{v(|d| d.current.vigil.ws_clients.to_string())}</dd>
                <dt>"frames sent"</dt><dd>{v(|d| format!("{}/s", format::per_second(d.current.vigil.frames_per_s)))}</dd>
                <dt>"broadcast lag"</dt><dd>{v(|d| format!("{:.1} ms", d.current.vigil.broadcast_lag_ms))}</dd>
                <dt>"clients resynced"</dt><dd>{v(|d| d.current.vigil.lagged_total.to_string())}</dd>
                <dt>"collector"</dt><dd>{v(|d| format!("{:.1} ms", d.current.vigil.collector_ms))}</dd>
                <dt>"memory"</dt><dd>{v(|d| format::bytes(d.current.vigil.rss))}</dd>
                <dt>"cpu"</dt><dd>{v(|d| format::percent(d.current.vigil.cpu as f64))}</dd>
            </dl>
        </section>
    }
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
    let n = values.len();
    if n < 2 {
        return String::new();
    }
    let max = max
        .unwrap_or_else(|| values.clone().fold(0.0, f64::max))
        .max(f64::EPSILON);
    let step = SPARK_W / (n - 1) as f64;
    let mut out = String::with_capacity(n * 12);
    for (i, v) in values.enumerate() {
        let y = SPARK_H - (v / max).clamp(0.0, 1.0) * SPARK_H;
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{:.1},{:.1}", i as f64 * step, y));
    }
    out
}

/// `HH:MM:SS` in UTC for a Unix time in milliseconds. UTC on both sides keeps
/// the server render and the hydrated page identical.
fn clock_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
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
    fn clock_time_is_utc() {
        assert_eq!(clock_time(0), "00:00:00 UTC");
        assert_eq!(clock_time(86_399_999), "23:59:59 UTC");
        assert_eq!(clock_time(3_723_000), "01:02:03 UTC");
    }
}
