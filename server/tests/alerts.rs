//! Alerts end to end, against real parts started by the tests: a real
//! Vigil, real HTTP check targets, a receiver that records every request
//! in the shape each chat or push service documents, Prometheus
//! Alertmanager (Debian's), a real SMTP server (aiosmtpd, with STARTTLS
//! and AUTH) and a real file system filled past a rule's threshold.

mod common;
mod engines;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::checks::CheckKind;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::get;
use axum::Router;
use common::mount::Mounted;
use common::{get_json, start_in, start_with, stop, TestServer};
use serde_json::Value;
use tokio::net::TcpListener;
use vigil::checks::config::CheckConfig;
use vigil::config::{AlertConfig, MaintenanceConfig, NotifyConfig, NotifyKind};
use vigil::Options;

// ---------------------------------------------------------------- helpers

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Got {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{}: not JSON ({e}): {:?}", self.path, self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

type Log = Arc<Mutex<Vec<Got>>>;

/// A receiver for every channel type: records each request (any path,
/// any method) and answers 200.
async fn receiver() -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .fallback(
            |State(log): State<Log>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
                log.lock().unwrap().push(Got {
                    method,
                    path: uri.path().to_string(),
                    headers,
                    body,
                });
                "{\"ok\":true}"
            },
        )
        .with_state(log.clone());
    (serve(app).await, log)
}

/// What the receiver got at paths starting with `prefix`.
fn at(log: &Log, prefix: &str) -> Vec<Got> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|g| g.path.starts_with(prefix))
        .cloned()
        .collect()
}

/// Waits until `prefix` got `n` requests (within `within`).
async fn wait_for(log: &Log, prefix: &str, n: usize, within: Duration) -> Vec<Got> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let got = at(log, prefix);
        if got.len() >= n {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{prefix}: {} of {n} requests within {within:?}: {got:?}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// HTTP targets whose status the test sets: `GET /anything` answers it.
async fn target() -> (SocketAddr, Arc<AtomicU16>) {
    let status = Arc::new(AtomicU16::new(200));
    let app = Router::new()
        .fallback(get(|State(s): State<Arc<AtomicU16>>| async move {
            axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
        }))
        .with_state(status.clone());
    (serve(app).await, status)
}

fn check(name: &str, url: &str) -> CheckConfig {
    let mut c = CheckConfig::new(name, CheckKind::Http);
    c.url = Some(url.to_string());
    c.interval = Duration::from_secs(1);
    c.timeout = Some(Duration::from_millis(500));
    c.retries = 0;
    c.confirm = 1;
    c.failure_threshold = 100;
    c
}

fn channel(name: &str, kind: NotifyKind, url: &str) -> NotifyConfig {
    let mut n = NotifyConfig::new(kind, Some(url));
    n.name = Some(name.into());
    n.retries = 2;
    n.timeout = Duration::from_secs(2);
    n
}

fn secret(dir: &Path, name: &str, value: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.secret"));
    std::fs::write(&path, format!("{value}\n")).unwrap();
    path
}

/// The pending, firing and recent resolved alerts (`GET /api/v1/alerts`).
async fn alerts(t: &TestServer) -> Vec<Value> {
    let (status, body) = get_json(t, "/api/v1/alerts").await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

fn find<'a>(alerts: &'a [Value], name: &str, instance: &str) -> Option<&'a Value> {
    alerts.iter().find(|a| a["name"] == name && a["instance"] == instance)
}

/// Polls `GET /api/v1/alerts` until `pred` holds.
async fn alerts_until(t: &TestServer, what: &str, within: Duration, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let now = alerts(t).await;
        if pred(&now) {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------- channels

/// Ten checks go down at once: every channel type gets one message with
/// all ten, in the shape its service documents (path, method, headers,
/// JSON fields), secrets from files; back up, each gets one resolved
/// message. The outcome of the last delivery is kept, and `/metrics`
/// counts what was sent per channel.
#[tokio::test]
async fn ten_checks_down_make_one_message_per_channel_of_every_type() {
    let (target, status) = target().await;
    let (rx, log) = receiver().await;
    let secrets = tempfile::tempdir().unwrap();
    let dir = secrets.path();
    let r = |path: &str| format!("http://{rx}{path}");
    let mut hook = channel("hook", NotifyKind::Webhook, &r("/hook"));
    hook.secret_file = Some(secret(dir, "hook", "hook-token"));
    let mut ntfy = channel("ntfy", NotifyKind::Ntfy, &r("/ntfy"));
    ntfy.topic = Some("ops".into());
    ntfy.secret_file = Some(secret(dir, "ntfy", "tk_ntfy"));
    let mut telegram = channel("telegram", NotifyKind::Telegram, &r("/tg"));
    telegram.chat_id = Some("-1001".into());
    telegram.secret_file = Some(secret(dir, "tg", "123:ABC"));
    let mut gotify = channel("gotify", NotifyKind::Gotify, &r("/gotify/"));
    gotify.secret_file = Some(secret(dir, "gotify", "AgotifyKey"));
    let mut matrix = channel("matrix", NotifyKind::Matrix, &r("/matrix"));
    matrix.room = Some("!ops:example.org".into());
    matrix.secret_file = Some(secret(dir, "matrix", "syt_matrix"));
    let mut pushover = channel("pushover", NotifyKind::Pushover, &r("/po"));
    pushover.user = Some("uQiRzpo4DXghDmr9QzzfQu27cmVRsG".into());
    pushover.secret_file = Some(secret(dir, "pushover", "azGDORePK8gMaC0QOYAMyEEuzJnyUi"));
    let notify = vec![
        hook,
        ntfy,
        telegram,
        channel("discord", NotifyKind::Discord, &r("/api/webhooks/1/abc")),
        channel("slack", NotifyKind::Slack, &r("/services/T0/B0/x")),
        channel("teams", NotifyKind::Teams, &r("/workflows/teams")),
        gotify,
        matrix,
        pushover,
    ];
    let checks: Vec<CheckConfig> = (0..10)
        .map(|i| check(&format!("c{i}"), &format!("http://{target}/c{i}")))
        .collect();
    let t = start_with(1000, |o: &mut Options| {
        o.config.checks = checks;
        o.config.notify = notify;
        // Wide enough that rounds a second apart still group.
        o.config.alerting.group_wait = Duration::from_secs(3);
    })
    .await;
    // Up first (unknown -> up is not news), then all down.
    alerts_until(&t, "checks up", Duration::from_secs(5), |_| true).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(log.lock().unwrap().is_empty(), "nothing to tell yet");
    status.store(503, Ordering::SeqCst);

    let within = Duration::from_secs(10);
    let hook = wait_for(&log, "/hook", 1, within).await;
    let body = hook[0].json();
    assert_eq!(body["status"], "firing");
    assert_eq!(body["alerts"].as_array().unwrap().len(), 10, "{body}");
    assert!(
        body.get("check").is_none(),
        "the per-check fields are for one check only"
    );
    assert_eq!(hook[0].header("authorization"), "Bearer hook-token");
    assert_eq!(hook[0].header("content-type"), "application/json");
    assert!(hook[0].header("user-agent").starts_with("vigil/"));
    assert!(body["title"].as_str().unwrap().starts_with("[FIRING:10] "), "{body}");

    let ntfy = wait_for(&log, "/ntfy", 1, within).await;
    assert_eq!(
        (ntfy[0].method.as_str(), ntfy[0].header("authorization")),
        ("POST", "Bearer tk_ntfy")
    );
    let v = ntfy[0].json();
    assert_eq!((v["topic"].as_str(), v["priority"].as_i64()), (Some("ops"), Some(4)));
    assert_eq!(v["message"].as_str().unwrap().lines().count(), 10);

    let tg = wait_for(&log, "/tg/", 1, within).await;
    assert_eq!(tg[0].path, "/tg/bot123:ABC/sendMessage");
    let v = tg[0].json();
    assert_eq!(v["chat_id"], "-1001");
    for i in 0..10 {
        assert!(
            v["text"].as_str().unwrap().contains(&format!("check c{i} is down")),
            "{v}"
        );
    }

    let discord = wait_for(&log, "/api/webhooks/1/abc", 1, within).await;
    let v = discord[0].json();
    assert!(v["embeds"][0]["title"].as_str().unwrap().starts_with("[FIRING:10]"));
    assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));

    let slack = wait_for(&log, "/services/T0/B0/x", 1, within).await;
    let v = slack[0].json();
    assert_eq!(
        (v["blocks"][0]["type"].as_str(), v["blocks"][1]["text"]["type"].as_str()),
        (Some("header"), Some("mrkdwn"))
    );

    let teams = wait_for(&log, "/workflows/teams", 1, within).await;
    let v = teams[0].json();
    assert_eq!(v["type"], "message");
    assert_eq!(
        v["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(v["attachments"][0]["content"]["type"], "AdaptiveCard");

    let gotify = wait_for(&log, "/gotify/", 1, within).await;
    assert_eq!(
        (gotify[0].path.as_str(), gotify[0].header("x-gotify-key")),
        ("/gotify/message", "AgotifyKey")
    );
    assert_eq!(gotify[0].json()["priority"], 8);

    let matrix = wait_for(&log, "/matrix/", 1, within).await;
    assert_eq!(matrix[0].method, Method::PUT);
    let txn = matrix[0]
        .path
        .strip_prefix("/matrix/_matrix/client/v3/rooms/%21ops%3Aexample.org/send/m.room.message/vigil-")
        .unwrap_or_else(|| panic!("{}", matrix[0].path));
    assert!(txn.chars().all(|c| c.is_ascii_digit()), "{txn}");
    assert_eq!(matrix[0].header("authorization"), "Bearer syt_matrix");
    assert_eq!(matrix[0].json()["msgtype"], "m.text");

    let po = wait_for(&log, "/po/", 1, within).await;
    assert_eq!(po[0].path, "/po/1/messages.json");
    let v = po[0].json();
    assert_eq!(
        (v["token"].as_str(), v["priority"].as_i64()),
        (Some("azGDORePK8gMaC0QOYAMyEEuzJnyUi"), Some(1))
    );

    // One message each, however long they stay down.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(log.lock().unwrap().len(), 9, "one message per channel");
    let now = alerts(&t).await;
    for i in 0..10 {
        let a = find(&now, "check-down", &format!("c{i}")).expect("firing");
        assert_eq!(
            (a["state"].as_str(), a["silenced"].as_bool()),
            (Some("firing"), Some(false))
        );
        assert_eq!(a["severity"], "critical");
    }
    assert_eq!(
        common::scrape(&t, "vigil_notifications_sent_total{channel=\"hook\"}").await,
        Some(1.0)
    );
    assert_eq!(common::scrape(&t, "vigil_alerts_firing").await, Some(10.0));
    let (_, board) = get_json(&t, "/api/v1/alerts/board").await;
    for c in board["channels"].as_array().unwrap() {
        assert_eq!(c["last"]["ok"], true, "{c}");
        assert!(c["last"]["detail"].as_str().unwrap().starts_with("HTTP 200"), "{c}");
    }
    // Secrets are never shown.
    let text = board.to_string();
    for token in [
        "hook-token",
        "tk_ntfy",
        "123:ABC",
        "AgotifyKey",
        "syt_matrix",
        "azGDORePK8",
    ] {
        assert!(!text.contains(token), "{token} leaked");
    }

    // Back: one resolved message each.
    status.store(200, Ordering::SeqCst);
    let hook = wait_for(&log, "/hook", 2, within).await;
    assert_eq!(hook[1].json()["status"], "resolved");
    assert!(hook[1].json()["title"].as_str().unwrap().starts_with("[RESOLVED] "));
    for prefix in [
        "/ntfy",
        "/tg/",
        "/api/webhooks",
        "/services",
        "/workflows",
        "/gotify/",
        "/matrix/",
        "/po/",
    ] {
        wait_for(&log, prefix, 2, within).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(log.lock().unwrap().len(), 18, "one resolved message per channel");
    let now = alerts(&t).await;
    assert!(now.iter().all(|a| a["state"] == "resolved"), "{now:?}");
    assert_eq!(now.iter().filter(|a| a["name"] == "check-down").count(), 10);
    stop(t).await;
}

/// One check going down and up again is told to a plain webhook with the
/// per-check fields (`check`, `from`, `to`, `reason`, `ts`) as before.
#[tokio::test]
async fn a_webhook_keeps_the_per_check_fields_for_one_check() {
    let (target, status) = target().await;
    let (rx, log) = receiver().await;
    let t = start_with(1000, |o: &mut Options| {
        o.config.checks = vec![check("api", &format!("http://{target}/"))];
        o.config.notify = vec![NotifyConfig::webhook(&format!("http://{rx}/hook"))];
        o.config.alerting.group_wait = Duration::ZERO;
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    status.store(503, Ordering::SeqCst);
    let got = wait_for(&log, "/hook", 1, Duration::from_secs(5)).await;
    let v = got[0].json();
    assert_eq!(
        (v["check"].as_str(), v["from"].as_str(), v["to"].as_str()),
        (Some("api"), Some("up"), Some("down"))
    );
    assert!(v["reason"].as_str().unwrap().contains("HTTP 503"), "{v}");
    assert!(v["ts"].as_i64().unwrap() > 0);
    status.store(200, Ordering::SeqCst);
    let got = wait_for(&log, "/hook", 2, Duration::from_secs(5)).await;
    let v = got[1].json();
    assert_eq!(
        (v["check"].as_str(), v["from"].as_str(), v["to"].as_str()),
        (Some("api"), Some("down"), Some("up"))
    );
    stop(t).await;
}

// ---------------------------------------------------------------- less noise

/// A silence, a maintenance window and a parent check that is down each
/// mute alerts: shown (with why), not sent. The parent's message says
/// which checks it holds; ending the silence tells what it held.
#[tokio::test]
async fn silences_windows_and_parents_mute_without_hiding() {
    let (target, status) = target().await;
    let (rx, log) = receiver().await;
    let url = format!("http://{target}/");
    let mut web = check("web", &url);
    web.depends_on = vec!["gateway".into()];
    let t = start_with(1000, |o: &mut Options| {
        o.config.checks = vec![check("gateway", &url), web, check("db", &url), check("api", &url)];
        o.config.notify = vec![NotifyConfig::webhook(&format!("http://{rx}/hook"))];
        o.config.alerting.group_wait = Duration::from_secs(2);
        // Open all the time: every day from midnight, for a day.
        o.config.maintenance = vec![MaintenanceConfig {
            name: "db upgrade".into(),
            start: None,
            days: Some(
                ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                    .map(String::from)
                    .to_vec(),
            ),
            at: Some("00:00".into()),
            duration: Duration::from_secs(86_400),
            timezone: Some("Europe/Berlin".into()),
            rules: None,
            checks: Some(vec!["db".into()]),
        }];
    })
    .await;
    // Running open on loopback: this client is an admin.
    let form = [("check", "api"), ("duration", "1h"), ("comment", "moving the API")];
    let res = common::client()
        .post(t.http("/api/v1/silences/add"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let (_, silences) = get_json(&t, "/api/v1/silences").await;
    let id = silences[0]["id"].as_i64().unwrap();
    assert_eq!(silences[0]["check"], "api");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    status.store(503, Ordering::SeqCst);
    let got = wait_for(&log, "/hook", 1, Duration::from_secs(8)).await;
    let v = got[0].json();
    let told: Vec<&str> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["instance"].as_str().unwrap())
        .collect();
    assert_eq!(told, ["gateway"], "{v}");
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .contains("While gateway is down, alerts of the checks that depend on it are held: web."),
        "{v}"
    );
    let now = alerts(&t).await;
    let muted = |name: &str| find(&now, "check-down", name).map(|a| (a["silenced"].clone(), a["muted_by"].clone()));
    assert_eq!(
        muted("web"),
        Some((true.into(), "depends on gateway, which is down".into()))
    );
    assert_eq!(muted("db"), Some((true.into(), "maintenance: db upgrade".into())));
    assert_eq!(
        muted("api"),
        Some((true.into(), format!("silence #{id}: moving the API").into()))
    );
    assert_eq!(muted("gateway"), Some((false.into(), Value::Null)));
    assert_eq!(common::scrape(&t, "vigil_alerts_muted").await, Some(3.0));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(at(&log, "/hook").len(), 1, "muted alerts are not sent");

    // The silence ends: what it held is told now.
    let res = common::client()
        .post(t.http("/api/v1/silences/end"))
        .form(&[("id", id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let got = wait_for(&log, "/hook", 2, Duration::from_secs(5)).await;
    assert_eq!(got[1].json()["check"], "api", "{}", got[1].json());
    let res = common::client()
        .post(t.http("/api/v1/silences/end"))
        .form(&[("id", id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "already ended");
    stop(t).await;
}

/// Bad silences get a clear error and change nothing.
#[tokio::test]
async fn bad_silences_are_refused() {
    let t = start_with(1000, |_| {}).await;
    for (form, want) in [
        (vec![("duration", "1h"), ("comment", "x")], "at least one"),
        (
            vec![("rule", "disk-full"), ("duration", "soon"), ("comment", "x")],
            "not a duration",
        ),
        (
            vec![("rule", "disk-full"), ("duration", "1h"), ("comment", "")],
            "comment",
        ),
        (
            vec![("rule", "disk-full"), ("duration", "1s"), ("comment", "x")],
            "1m to 366d",
        ),
    ] {
        let res = common::client()
            .post(t.http("/api/v1/silences/add"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{form:?}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(want), "{form:?}: {body}");
    }
    let (_, silences) = get_json(&t, "/api/v1/silences").await;
    assert_eq!(silences, serde_json::json!([]));
    stop(t).await;
}

// ---------------------------------------------------------------- state

/// A restart while an alert fires sends nothing again; the alert is still
/// firing after it, and resolves once.
#[tokio::test]
async fn a_restart_while_firing_tells_nothing_twice() {
    let (target, status) = target().await;
    let (rx, log) = receiver().await;
    let tune = |o: &mut Options| {
        o.config.checks = vec![check("api", &format!("http://{target}/"))];
        o.config.notify = vec![NotifyConfig::webhook(&format!("http://{rx}/hook"))];
        o.config.alerting.group_wait = Duration::ZERO;
    };
    status.store(503, Ordering::SeqCst);
    let t = start_with(1000, tune).await;
    let got = wait_for(&log, "/hook", 1, Duration::from_secs(5)).await;
    let fired_at = got[0].json()["alerts"][0]["fired_at"].clone();
    let data = stop(t).await;

    let t = start_in(data, 1000, tune).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(at(&log, "/hook").len(), 1, "not told again after the restart");
    let now = alerts(&t).await;
    let a = find(&now, "check-down", "api").unwrap();
    assert_eq!((a["state"].clone(), a["fired_at"].clone()), ("firing".into(), fired_at));
    status.store(200, Ordering::SeqCst);
    let got = wait_for(&log, "/hook", 2, Duration::from_secs(5)).await;
    assert_eq!(got[1].json()["status"], "resolved");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(at(&log, "/hook").len(), 2);
    stop(t).await;
}

/// A real ext4 file system filled past a rule's line fires; emptied, it
/// resolves. Needs root (a loop mount), like the store's disk tests.
#[tokio::test]
async fn a_filesystem_filled_past_its_rule_fires_and_emptied_resolves() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("fs");
    let mounted = Mounted::ext4(&dir, &root.path().join("fs.img"), 16);
    let instance = format!("filesystem_used_percent.{}", app::metrics::slug(dir.to_str().unwrap()));
    let (rx, log) = receiver().await;
    let rule = AlertConfig {
        name: "small-disk".into(),
        series: Some(instance.clone()),
        above: Some(50.0),
        ..Default::default()
    };
    let t = start_with(250, |o: &mut Options| {
        o.config.alerts = vec![rule];
        o.config.notify = vec![NotifyConfig::webhook(&format!("http://{rx}/hook"))];
        o.config.alerting.group_wait = Duration::ZERO;
    })
    .await;
    // The rule reads it, below the line.
    let board_reads = |board: &Value| {
        board["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "small-disk")
            .map(|r| r["readings"].clone())
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, board) = get_json(&t, "/api/v1/alerts/board").await;
        if board_reads(&board).is_some_and(|r| r[0]["instance"] == instance.as_str()) {
            assert_eq!(board_reads(&board).unwrap()[0]["breaching"], false);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rule never read {instance}: {board}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let file = dir.join("fill");
    std::fs::write(&file, vec![7u8; 12 * 1024 * 1024]).unwrap();
    rustix::fs::sync();
    let got = wait_for(&log, "/hook", 1, Duration::from_secs(5)).await;
    let v = got[0].json();
    assert_eq!(v["alerts"][0]["instance"], instance.as_str());
    assert!(v["alerts"][0]["value"].as_f64().unwrap() > 50.0, "{v}");
    assert!(v["title"].as_str().unwrap().contains("above 50.0 %"), "{v}");
    std::fs::remove_file(&file).unwrap();
    rustix::fs::sync();
    let got = wait_for(&log, "/hook", 2, Duration::from_secs(5)).await;
    assert_eq!(got[1].json()["status"], "resolved");
    stop(t).await;
    drop(mounted);
}

// ---------------------------------------------------------------- Alertmanager

/// Prometheus Alertmanager as a channel: the firing alert reaches its
/// receiver and its API; resolved, it is resolved there too.
#[tokio::test]
async fn alertmanager_gets_firing_then_resolved() {
    let (target, status) = target().await;
    let (rx, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let am = engines::Alertmanager::start(dir.path(), &format!("http://{rx}/am-hook")).await;
    let t = start_with(1000, |o: &mut Options| {
        o.config.checks = vec![check("api", &format!("http://{target}/"))];
        o.config.notify = vec![channel("am", NotifyKind::Alertmanager, &am.url())];
        o.config.alerting.group_wait = Duration::ZERO;
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    status.store(503, Ordering::SeqCst);
    let got = wait_for(&log, "/am-hook", 1, Duration::from_secs(15)).await;
    let v = got[0].json();
    assert_eq!(v["status"], "firing", "{v}");
    let labels = &v["alerts"][0]["labels"];
    assert_eq!(
        (labels["alertname"].as_str(), labels["check"].as_str()),
        (Some("check-down"), Some("api"))
    );
    assert_eq!(
        (labels["severity"].as_str(), labels["job"].as_str()),
        (Some("critical"), Some("vigil"))
    );
    // Read back from its API.
    let held: Value = reqwest::get(format!("{}/api/v2/alerts", am.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(held[0]["labels"]["instance"], "api", "{held}");
    assert_eq!(held[0]["status"]["state"], "active");

    status.store(200, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if at(&log, "/am-hook").iter().any(|g| g.json()["status"] == "resolved") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no resolved from Alertmanager: {:?}",
            at(&log, "/am-hook")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held: Value = reqwest::get(format!("{}/api/v2/alerts?active=true", am.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(held, serde_json::json!([]), "nothing active there any more");
    stop(t).await;
}

// ---------------------------------------------------------------- email

/// A real SMTP server (aiosmtpd) that requires STARTTLS and AUTH gets the
/// alert as an email: envelope, subject, body and headers.
#[tokio::test]
async fn email_goes_over_starttls_with_auth() {
    let (target, status) = target().await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_certificate_for_ip(dir.path());
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let port = engines::free_port();
    let _smtp = Smtp::start(port, &cert, &key, &inbox).await;
    let mut mail = NotifyConfig::new(NotifyKind::Email, None);
    mail.name = Some("mail".into());
    mail.host = Some("127.0.0.1".into());
    mail.port = Some(port);
    mail.tls = Some(vigil::alerts::config::SmtpTls::Starttls);
    mail.from = Some("Vigil <vigil@example.org>".into());
    mail.to = Some(vec!["ops@example.org".into()]);
    mail.username = Some("vigil".into());
    mail.secret_file = Some(secret(dir.path(), "smtp", "s3cret"));
    mail.ca_file = Some(ca_file);
    let t = start_with(1000, |o: &mut Options| {
        o.config.checks = vec![check("api", &format!("http://{target}/"))];
        o.config.notify = vec![mail];
        o.config.alerting.group_wait = Duration::ZERO;
        o.config.host.name = Some("web1".into());
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    status.store(503, Ordering::SeqCst);
    let first = inbox.join("1.eml");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !first.exists() {
        if tokio::time::Instant::now() > deadline {
            let (_, board) = get_json(&t, "/api/v1/alerts/board").await;
            panic!("no email: {}", board["channels"]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let raw = std::fs::read_to_string(&first).unwrap();
    for want in [
        "X-Test-Mail-From: vigil@example.org\r\n",
        "X-Test-Rcpt-To: ops@example.org\r\n",
        "X-Test-Authenticated: True\r\n",
        "X-Test-Tls: True\r\n",
        "From: Vigil <vigil@example.org>\r\n",
        "To: ops@example.org\r\n",
        "Subject: [FIRING] web1: check api is down: HTTP 503",
        "X-Vigil-Status: firing\r\n",
        "FIRING critical check-down: check api is down: HTTP 503",
    ] {
        assert!(raw.contains(want), "{want:?} not in:\n{raw}");
    }
    let (_, board) = get_json(&t, "/api/v1/alerts/board").await;
    assert!(
        board["channels"][0]["last"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("SMTP 250"),
        "{board}"
    );
    stop(t).await;
}

/// A certificate for 127.0.0.1 from a test CA: (CA PEM, cert file, key file).
fn test_certificate_for_ip(dir: &Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let leaf = params.signed_by(&key, &ca, &ca_key).unwrap();
    let (cert_path, key_path) = (dir.join("smtp-cert.pem"), dir.join("smtp-key.pem"));
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca.pem(), cert_path, key_path)
}

/// The SMTP server of `tests/fixtures/smtp_server.py`, killed on drop.
struct Smtp {
    child: tokio::process::Child,
}

impl Smtp {
    async fn start(port: u16, cert: &Path, key: &Path, inbox: &Path) -> Smtp {
        use tokio::io::AsyncBufReadExt;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp_server.py");
        let mut child = tokio::process::Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(cert)
            .arg(key)
            .args(["vigil", "s3cret"])
            .arg(inbox)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs (Debian's, with python3-aiosmtpd: scripts/setup.sh installs it)");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        assert!(
            matches!(&ready, Ok(Ok(Some(l))) if l == "ready"),
            "the SMTP server did not start ({ready:?}): is python3-aiosmtpd installed?"
        );
        Smtp { child }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

// ---------------------------------------------------------------- config

/// `vigil notify-test NAME` sends a test message and says how it went;
/// an unknown name is a clear error.
#[tokio::test]
async fn notify_test_sends_a_test_message() {
    let (rx, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            "[host]\nname = \"web1\"\n\n[[notify]]\nname = \"ops\"\ntype = \"slack\"\nurl = \"http://{rx}/slack\"\n"
        ),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking({
        let config = config.clone();
        move || {
            common::vigil_command()
                .args(["notify-test", "ops", "--config"])
                .arg(&config)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("delivered to ops: HTTP 200"));
    let got = at(&log, "/slack");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["text"], "[TEST] web1: a test message from Vigil");

    let out = common::vigil_command()
        .args(["notify-test", "nope", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "no [[notify]] channel is named \"nope\" (the config has: ops)"
    );
}

/// The test button's server function: an admin sends a test message
/// through a channel and reads the outcome; a dead channel says why.
#[tokio::test]
async fn the_test_button_reports_the_outcome() {
    let (rx, log) = receiver().await;
    let dead = engines::free_port();
    let t = start_with(1000, |o: &mut Options| {
        o.config.notify = vec![
            channel("live", NotifyKind::Discord, &format!("http://{rx}/discord")),
            channel("dead", NotifyKind::Webhook, &format!("http://127.0.0.1:{dead}/")),
        ];
    })
    .await;
    let call = |name: &'static str| {
        common::client()
            .post(t.http("/api/v1/notify/test"))
            .header("accept", "application/json")
            .form(&[("name", name)])
            .send()
    };
    let d: Value = call("live").await.unwrap().json().await.unwrap();
    assert_eq!(d["ok"], true, "{d}");
    assert_eq!(at(&log, "/discord").len(), 1);
    let d: Value = call("dead").await.unwrap().json().await.unwrap();
    assert_eq!(
        (d["ok"].as_bool(), d["detail"].as_str()),
        (Some(false), Some("connect refused")),
        "{d}"
    );
    let res = call("nope").await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        common::scrape(&t, "vigil_notifications_failed_total{channel=\"dead\"}").await,
        Some(1.0)
    );
    stop(t).await;
}

/// A filesystem that has filled steadily for hours (history written in
/// the store's own format, ending at the root filesystem's real level)
/// gets a forecast at start: a `full_within` rule fires with the time
/// left, and the live `alerts` frame carries the forecast for the
/// overview.
#[tokio::test]
async fn a_steady_fill_forecasts_full_and_fires_a_full_within_rule() {
    let series = "filesystem_used_percent.root";
    // Where the root filesystem really is now.
    let t = start_with(1000, |_| {}).await;
    let (_, latest) = get_json(&t, &format!("/api/v1/latest?series={series}")).await;
    stop(t).await;
    let level = latest["value"].as_f64().unwrap_or_else(|| panic!("{latest}"));
    assert!(level > 5.0, "the root filesystem is {level} % full: too empty to fill");

    // Six hours of a steady fill, a point a minute, up to that level.
    let data = tempfile::tempdir().unwrap();
    let rise = 5.0;
    let minutes = 6 * 60;
    common::fill::write_root_fill(data.path(), minutes, common::now_ms(), |i| {
        level - rise + rise * i as f64 / (minutes - 1) as f64
    });

    let rule = AlertConfig {
        name: "root-filling".into(),
        series: Some(series.into()),
        full_within: Some(Duration::from_secs(90 * 86_400)),
        ..Default::default()
    };
    let t = start_in(data, 1000, |o: &mut Options| o.config.alerts = vec![rule]).await;
    let fired = alerts_until(&t, "the forecast rule fires", Duration::from_secs(10), |all| {
        find(all, "root-filling", series).is_some_and(|a| a["state"] == "firing")
    })
    .await;
    let alert = find(&fired, "root-filling", series).unwrap();
    // 5 points in 6 h: the rest of the way at that pace (within 10 %: the
    // real filesystem moves a little while the test runs).
    let hours = (100.0 - level) / (rise / 6.0);
    let told = alert["value"].as_f64().unwrap_or_else(|| panic!("{alert}"));
    assert!(
        (told - hours).abs() <= hours * 0.1,
        "told {told} h, the line says {hours} h"
    );
    let message = alert["message"].as_str().unwrap();
    let want = format!("{series} will be full in {}", app::alerts::roughly(told));
    assert!(message.starts_with(&want), "{message} (want {want})");

    // The overview's live frame carries it.
    let (_, snapshot) = get_json(&t, "/api/v1/snapshot").await;
    let forecasts = snapshot["alerts"]["forecasts"]
        .as_array()
        .unwrap_or_else(|| panic!("{snapshot}"));
    let f = forecasts.iter().find(|f| f["series"] == series).unwrap();
    let per_hour = f["per_hour"].as_f64().unwrap();
    assert!((per_hour - rise / 6.0).abs() < 0.1, "{f}");
    // The rule's reading on the board says it in words.
    let (_, board) = get_json(&t, "/api/v1/alerts/board").await;
    let rule = board["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "root-filling")
        .unwrap();
    assert_eq!(rule["side"], "full within");
    assert!(
        rule["readings"][0]["shown"].as_str().unwrap().starts_with("full in ~"),
        "{rule}"
    );
    stop(t).await;
}
