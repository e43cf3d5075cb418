//! The alerts page's parts and the header's count. The pending and firing
//! alerts come from the live store (seeded from the page's board, moved by
//! `alerts` frames), so an alert shows the moment it fires; the rest of
//! the board (rules, channels, silences, windows, history) is loaded with
//! the page and again after each change made on it.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::{
    AddSilence, AddWindow, Alert, AlertsBoard, ChannelView, Delivery, EndSilence, EndWindow, RuleView, Silence,
    TestChannel, WindowView,
};
use crate::format;
use crate::live::use_live;

/// The header's count of firing alerts (muted ones left out), linking to
/// `/alerts`; nothing while none fires.
#[component]
pub fn AlertsBadge() -> impl IntoView {
    let alerts = use_live().alerts;
    let firing = Memo::new(move |_| alerts.with(|a| a.as_ref().map_or(0, |a| a.firing())));
    view! {
        <Show when=move || { firing.get() > 0 }>
            <a class="alerts-badge" href="/alerts" data-testid="alerts-count" title="Alerts firing">
                {move || format!("{} firing", firing.get())}
            </a>
        </Show>
    }
}

/// When, as the page shows times: UTC on both sides, so the server's
/// render and the hydrated page agree.
fn when(ms: i64) -> String {
    format!("{} {}", format::date(ms), format::clock(ms))
}

fn value_text(a: &Alert) -> String {
    match (a.value, a.threshold) {
        (Some(v), Some(t)) => format!("{} (threshold {})", trim(v), trim(t)),
        (Some(v), None) => trim(v),
        _ => "–".into(),
    }
}

fn trim(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The whole page below its title, from a loaded board.
#[component]
pub fn AlertsPage(
    board: AlertsBoard,
    add_silence: ServerAction<AddSilence>,
    end_silence: ServerAction<EndSilence>,
    add_window: ServerAction<AddWindow>,
    end_window: ServerAction<EndWindow>,
) -> impl IntoView {
    let live = use_live().alerts;
    if live.with_untracked(Option::is_none) {
        live.set(Some(board.live.clone()));
    }
    let admin = board.can_edit;
    let AlertsBoard {
        history,
        rules,
        channels,
        silences,
        windows,
        config_error,
        ..
    } = board;
    view! {
        {config_error.map(|why| view! {
            <p class="error" role="alert" data-testid="config-error">
                "The config file was not reloaded, so the running config stays: " {why}
            </p>
        })}
        <section class="card">
            <h2>"Now"</h2>
            <LiveAlerts admin add_silence/>
        </section>
        <section class="card">
            <h2>"Silences"</h2>
            <SilenceList silences admin end_silence/>
            {admin.then(|| view! { <SilenceForm add_silence/> })}
        </section>
        <section class="card">
            <h2>"Maintenance windows"</h2>
            <WindowList windows admin end_window/>
            {admin.then(|| view! { <WindowForm add_window/> })}
        </section>
        <section class="card">
            <h2>"Rules"</h2>
            <RuleTable rules/>
        </section>
        <section class="card">
            <h2>"Channels"</h2>
            <ChannelTable channels admin/>
        </section>
        <section class="card">
            <h2>"Resolved"</h2>
            <History history/>
        </section>
    }
}

/// The pending and firing alerts, live.
#[component]
fn LiveAlerts(admin: bool, add_silence: ServerAction<AddSilence>) -> impl IntoView {
    let live = use_live().alerts;
    let alerts = Memo::new(move |_| live.with(|a| a.as_ref().map(|a| a.alerts.clone()).unwrap_or_default()));
    view! {
        <Show
            when=move || alerts.with(|a| !a.is_empty())
            fallback=|| view! { <p class="muted" data-testid="alerts-none">"Nothing is pending or firing."</p> }
        >
            <table class="alerts" data-testid="alerts-table">
                <thead>
                    <tr>
                        <th scope="col">"State"</th>
                        <th scope="col">"Rule"</th>
                        <th scope="col">"Instance"</th>
                        <th scope="col">"Value"</th>
                        <th scope="col">"Since"</th>
                        <th scope="col">"Message"</th>
                        {admin.then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || alerts.get()
                        key=|a| (a.name.clone(), a.instance.clone(), a.state, a.silenced, a.value.map(f64::to_bits))
                        children=move |a| view! { <AlertRow a admin add_silence/> }
                    />
                </tbody>
            </table>
        </Show>
    }
}

#[component]
fn AlertRow(a: Alert, admin: bool, add_silence: ServerAction<AddSilence>) -> impl IntoView {
    let state = if a.silenced {
        "silenced".to_string()
    } else {
        a.state.as_str().to_string()
    };
    let class = format!("state {state} {}", a.severity.as_str());
    let (rule, instance) = (a.name.clone(), a.instance.clone());
    view! {
        <tr data-testid="alert-row" data-name=a.name.clone() data-instance=a.instance.clone() data-state=state.clone()>
            <td><span class=class>{state.clone()}</span> " " <span class="muted">{a.severity.as_str()}</span></td>
            <th scope="row">{a.name.clone()}</th>
            <td>{a.instance.clone()}</td>
            <td class="num">{value_text(&a)}</td>
            <td class="num">{when(a.fired_at.unwrap_or(a.since))}</td>
            <td>
                {a.message.clone()}
                {a.muted_by.clone().map(|m| view! { <div class="muted" data-testid="muted-by">"Muted: " {m}</div> })}
            </td>
            {admin.then(|| view! {
                <td class="actions">
                    <details>
                        <summary>"Silence"</summary>
                        <ActionForm action=add_silence attr:class="auth-form" attr:data-testid="silence-row-form">
                            <input type="hidden" name="rule" value=rule.clone()/>
                            <input type="hidden" name="instance" value=instance.clone()/>
                            <label>
                                "For"
                                <select name="duration">
                                    <option value="1h" selected>"1 hour"</option>
                                    <option value="4h">"4 hours"</option>
                                    <option value="1d">"1 day"</option>
                                    <option value="7d">"1 week"</option>
                                </select>
                            </label>
                            <label>"Why" <input name="comment" required maxlength="500"/></label>
                            <button type="submit">"Silence"</button>
                        </ActionForm>
                    </details>
                </td>
            })}
        </tr>
    }
}

#[component]
fn SilenceList(silences: Vec<Silence>, admin: bool, end_silence: ServerAction<EndSilence>) -> impl IntoView {
    if silences.is_empty() {
        return view! { <p class="muted">"No silence is active."</p> }.into_any();
    }
    let rows = silences
        .into_iter()
        .map(|s| {
            let id = s.id;
            view! {
                <tr data-testid="silence-row" data-id=id>
                    <th scope="row">"#" {id}</th>
                    <td>{s.describe()}</td>
                    <td>{s.comment.clone()}</td>
                    <td>{s.created_by.clone()}</td>
                    <td class="num">{when(s.ends_at)}</td>
                    {admin.then(|| view! {
                        <td>
                            <ActionForm action=end_silence attr:class="inline">
                                <input type="hidden" name="id" value=id/>
                                <button type="submit">"End"</button>
                            </ActionForm>
                        </td>
                    })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="alerts">
            <thead>
                <tr>
                    <th scope="col">"Silence"</th>
                    <th scope="col">"Matches"</th>
                    <th scope="col">"Why"</th>
                    <th scope="col">"By"</th>
                    <th scope="col">"Until"</th>
                    {admin.then(|| view! { <th scope="col">"Actions"</th> })}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn SilenceForm(add_silence: ServerAction<AddSilence>) -> impl IntoView {
    view! {
        <details>
            <summary>"Add a silence"</summary>
            <ActionForm action=add_silence attr:class="auth-form inline" attr:data-testid="silence-form">
                <label>"Rule" <input name="rule" maxlength="200" placeholder="disk-full"/></label>
                <label>"Instance" <input name="instance" maxlength="200"/></label>
                <label>"Check" <input name="check" maxlength="200"/></label>
                <label>"For" <input name="duration" value="2h" required maxlength="32"/></label>
                <label>"Why" <input name="comment" required maxlength="500"/></label>
                <button type="submit" class="primary">"Silence"</button>
            </ActionForm>
        </details>
    }
}

#[component]
fn WindowList(windows: Vec<WindowView>, admin: bool, end_window: ServerAction<EndWindow>) -> impl IntoView {
    if windows.is_empty() {
        return view! { <p class="muted">"No maintenance window."</p> }.into_any();
    }
    let rows = windows
        .into_iter()
        .map(|w| {
            let open = if w.open { "open now" } else { "closed" };
            view! {
                <tr data-testid="window-row" data-open=w.open.to_string()>
                    <th scope="row">{w.name.clone()}</th>
                    <td>{w.when.clone()}</td>
                    <td>{w.mutes.clone()}</td>
                    <td>{open}</td>
                    <td>
                        {match (admin, w.id) {
                            (true, Some(id)) => view! {
                                <ActionForm action=end_window attr:class="inline">
                                    <input type="hidden" name="id" value=id/>
                                    <button type="submit">"End"</button>
                                </ActionForm>
                            }
                            .into_any(),
                            (_, None) => view! { <span class="muted">"config file"</span> }.into_any(),
                            _ => ().into_any(),
                        }}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="alerts">
            <thead>
                <tr>
                    <th scope="col">"Window"</th>
                    <th scope="col">"When"</th>
                    <th scope="col">"Mutes"</th>
                    <th scope="col">"Now"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn WindowForm(add_window: ServerAction<AddWindow>) -> impl IntoView {
    view! {
        <details>
            <summary>"Add a maintenance window"</summary>
            <ActionForm action=add_window attr:class="auth-form inline" attr:data-testid="window-form">
                <label>"Name" <input name="name" required maxlength="100"/></label>
                <label>"Starts (local, empty: now)" <input name="start" placeholder="2026-12-24T22:00" maxlength="40"/></label>
                <label>"Or weekly on" <input name="days" placeholder="sat,sun" maxlength="40"/></label>
                <label>"at" <input name="at" placeholder="02:00" maxlength="10"/></label>
                <label>"For" <input name="duration" value="1h" required maxlength="32"/></label>
                <label>"Time zone" <input name="timezone" placeholder="UTC" maxlength="64"/></label>
                <label>"Rules (empty: all)" <input name="rules" maxlength="200"/></label>
                <label>"Checks" <input name="checks" maxlength="200"/></label>
                <button type="submit" class="primary">"Add"</button>
            </ActionForm>
        </details>
    }
}

#[component]
fn RuleTable(rules: Vec<RuleView>) -> impl IntoView {
    let rows = rules
        .into_iter()
        .map(|r| {
            let line = match (&r.side, r.threshold) {
                (Some(side), Some(hours)) if side == "full within" => {
                    format!("{side} {}", super::within(hours))
                }
                (Some(side), Some(t)) => format!("{side} {}", trim(t)),
                (Some(when), None) => when.clone(),
                _ => "while down".into(),
            };
            let hold = if r.hold_ms == 0 {
                "at once".to_string()
            } else {
                format!("after {}", format::age(r.hold_ms as i64))
            };
            let readings = r
                .readings
                .iter()
                .map(|x| {
                    let class = if x.breaching { "reading breaching" } else { "reading" };
                    view! { <li class=class>{x.instance.clone()} ": " {x.shown.clone()}</li> }
                })
                .collect_view();
            view! {
                <tr data-testid="rule-row" data-name=r.name.clone()>
                    <th scope="row">{r.name.clone()}</th>
                    <td>{r.watches.clone()}</td>
                    <td>{line}</td>
                    <td>{hold}</td>
                    <td>{r.severity.as_str()}</td>
                    <td>{r.notify.join(", ")}</td>
                    <td><ul class="readings">{readings}</ul></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="alerts">
            <thead>
                <tr>
                    <th scope="col">"Rule"</th>
                    <th scope="col">"Watches"</th>
                    <th scope="col">"Fires"</th>
                    <th scope="col">"For"</th>
                    <th scope="col">"Severity"</th>
                    <th scope="col">"Tells"</th>
                    <th scope="col">"Now"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn outcome(d: &Delivery) -> String {
    let word = if d.ok { "Delivered" } else { "Failed" };
    format!("{word} at {}: {}", when(d.ts), d.detail)
}

#[component]
fn ChannelTable(channels: Vec<ChannelView>, admin: bool) -> impl IntoView {
    if channels.is_empty() {
        return view! {
            <p class="muted">"No channel: alerts are shown here only. Add [[notify]] entries to the config file."</p>
        }
        .into_any();
    }
    let rows = channels
        .into_iter()
        .map(|c| view! { <ChannelRow c admin/> })
        .collect_view();
    view! {
        <table class="alerts">
            <thead>
                <tr>
                    <th scope="col">"Channel"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"To"</th>
                    <th scope="col" class="num">"Sent"</th>
                    <th scope="col" class="num">"Failed"</th>
                    <th scope="col" class="num">"Queued"</th>
                    <th scope="col">"Last delivery"</th>
                    {admin.then(|| view! { <th scope="col">"Test"</th> })}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ChannelRow(c: ChannelView, admin: bool) -> impl IntoView {
    let test = ServerAction::<TestChannel>::new();
    let last = c.last.as_ref().map(outcome).unwrap_or_else(|| "none yet".into());
    let result = move || {
        test.value().get().map(|r| match r {
            Ok(d) => (d.ok, outcome(&d)),
            Err(e) => (false, e.to_string()),
        })
    };
    let name = c.name.clone();
    view! {
        <tr data-testid="channel-row" data-name=c.name.clone()>
            <th scope="row">{c.name.clone()}</th>
            <td>{c.kind.clone()}</td>
            <td>{c.target.clone()}</td>
            <td class="num">{c.sent}</td>
            <td class="num">{c.failed}</td>
            <td class="num">{c.queued}</td>
            <td>{last}</td>
            {admin.then(|| view! {
                <td>
                    <ActionForm action=test attr:class="inline">
                        <input type="hidden" name="name" value=name.clone()/>
                        <button type="submit" disabled=move || test.pending().get()>"Send a test"</button>
                    </ActionForm>
                    {move || result().map(|(ok, text)| view! {
                        <p class=if ok { "form-ok" } else { "error" } role="status" data-testid="test-outcome" data-ok=ok.to_string()>
                            {text}
                        </p>
                    })}
                </td>
            })}
        </tr>
    }
}

#[component]
fn History(history: Vec<Alert>) -> impl IntoView {
    if history.is_empty() {
        return view! { <p class="muted">"Nothing has resolved yet."</p> }.into_any();
    }
    let rows = history
        .into_iter()
        .map(|a| {
            view! {
                <tr data-testid="history-row" data-name=a.name.clone() data-instance=a.instance.clone()>
                    <th scope="row">{a.name.clone()}</th>
                    <td>{a.instance.clone()}</td>
                    <td>{a.severity.as_str()}</td>
                    <td class="num">{when(a.fired_at.unwrap_or(a.since))}</td>
                    <td class="num">{a.resolved_at.map(when).unwrap_or_default()}</td>
                    <td>{a.message.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="alerts">
            <thead>
                <tr>
                    <th scope="col">"Rule"</th>
                    <th scope="col">"Instance"</th>
                    <th scope="col">"Severity"</th>
                    <th scope="col">"Fired"</th>
                    <th scope="col">"Resolved"</th>
                    <th scope="col">"Message"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::super::AlertState;
    use super::*;

    #[test]
    fn values_show_against_their_threshold() {
        let a = Alert {
            name: "disk-full".into(),
            instance: "filesystem_used_percent.root".into(),
            state: AlertState::Firing,
            severity: super::super::Severity::Warning,
            value: Some(93.456),
            threshold: Some(90.0),
            since: 0,
            fired_at: None,
            resolved_at: None,
            message: String::new(),
            check: None,
            reason: String::new(),
            silenced: false,
            muted_by: None,
        };
        assert_eq!(value_text(&a), "93.46 (threshold 90)");
    }
}
