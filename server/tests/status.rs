//! Status pages, incidents, badges and reports against a real server bound
//! beyond loopback with an account: a page answers without a session and
//! holds nothing it does not list; a check going down shows within
//! seconds (and opens a draft incident); incidents go from open to
//! resolved on the page and in the feed; badges are public only for
//! listed checks; the public doors are rate-limited; and the report's
//! arithmetic holds on a history written for the test.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::checks::CheckKind;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use common::*;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use vigil::checks::config::CheckConfig;
use vigil::config::{GroupConfig, MaintenanceConfig, StatusPageConfig};

const PASSWORD: &str = "status-admin-9d41c2";
/// Names and places no public answer may hold.
const HOST_MARK: &str = "secret-host-5b2";
const HIDDEN_CHECK: &str = "internal-db-7c1";
const STATUS_HOST: &str = "status.example.test";

/// A target answering HTTP with the status in the returned knob.
async fn target() -> (SocketAddr, Arc<AtomicU16>) {
    let status = Arc::new(AtomicU16::new(200));
    let app = Router::new()
        .fallback(get(|State(s): State<Arc<AtomicU16>>| async move {
            axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
        }))
        .with_state(status.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, status)
}

fn check(name: &str, addr: SocketAddr) -> CheckConfig {
    let mut c = CheckConfig::new(name, CheckKind::Http);
    c.url = Some(format!("http://{addr}/{name}/health"));
    c.interval = Duration::from_secs(1);
    c.timeout = Some(Duration::from_millis(500));
    c.retries = 0;
    c.confirm = 1;
    c.failure_threshold = 100;
    c
}

fn page() -> StatusPageConfig {
    StatusPageConfig {
        slug: "public".into(),
        title: "Example status".into(),
        description: Some("Our website and API.".into()),
        hostname: Some(STATUS_HOST.into()),
        checks: vec!["website".into()],
        groups: vec![GroupConfig {
            name: "API".into(),
            checks: vec!["api-eu".into()],
        }],
        draft_incidents: true,
    }
}

/// Exposed (0.0.0.0) with an admin account, two listed checks on one
/// target and a hidden one; the admin's cookie and the target's knob.
async fn exposed() -> (TestServer, String, Arc<AtomicU16>, SocketAddr) {
    let (addr, knob) = target().await;
    let t = start_with(200, |o| {
        o.bind = "0.0.0.0:0".parse().unwrap();
        o.config.host.name = Some(HOST_MARK.into());
        o.config.checks = vec![check("website", addr), check("api-eu", addr), check(HIDDEN_CHECK, addr)];
        o.config.checks[1].slo = Some(99.9);
        o.config.status_pages = vec![page()];
        // Planned work: one on a listed check (shown), one on the hidden
        // check alone (not shown), both two days ahead.
        let start = now_ms() + 2 * 86_400_000;
        let at = format!("{}T{}", app::format::date(start), &app::format::clock(start)[..5]);
        let window = |name: &str, check: &str| MaintenanceConfig {
            name: name.into(),
            start: Some(at.clone()),
            days: None,
            at: None,
            duration: Duration::from_secs(3600),
            timezone: Some("UTC".into()),
            rules: None,
            checks: Some(vec![check.into()]),
        };
        o.config.maintenance = vec![
            window("api upgrade", "api-eu"),
            window("hidden-window-3f", HIDDEN_CHECK),
        ];
    })
    .await;
    let res = post_json_with(&t, "/auth/setup", json!({ "name": "root", "password": PASSWORD }), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = session(&res);
    (t, cookie, knob, addr)
}

/// The `name=value` of the session cookie a sign-in or setup set.
fn session(res: &reqwest::Response) -> String {
    let set = res.headers()[SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

async fn public_json(t: &TestServer) -> Value {
    let res = get_with(t, "/status/public.json", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Waits until the page's JSON satisfies `ok` (at most `secs`).
async fn wait_for(t: &TestServer, secs: u64, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let page = public_json(t).await;
        if ok(&page) {
            return page;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} within {secs} s: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn states(page: &Value) -> Vec<(String, String)> {
    page["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["checks"].as_array().unwrap().iter())
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn assert_holds_nothing_unlisted(what: &str, body: &str, target: SocketAddr) {
    for mark in [
        HOST_MARK,
        HIDDEN_CHECK,
        &target.to_string(),
        "/health",
        "memory_used_bytes",
        "cpu_usage_percent",
        "HTTP 503",
        "503",
        "hidden-window-3f",
    ] {
        assert!(!body.contains(mark), "{what} holds {mark:?}");
    }
}

#[tokio::test]
async fn a_status_page_is_public_holds_only_what_it_lists_and_follows_its_checks() {
    let (t, admin, knob, target) = exposed().await;
    let page = wait_for(&t, 10, "both checks up", |p| {
        states(p)
            == [
                ("website".into(), "operational".into()),
                ("api-eu".into(), "operational".into()),
            ]
    })
    .await;
    assert_eq!(page["overall"], "operational");
    assert_eq!(page["groups"][1]["name"], "API");
    assert_eq!(page["groups"][0]["checks"][0]["days"].as_array().unwrap().len(), 90);
    let planned = page["maintenance"].as_array().unwrap();
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(
        (&planned[0]["name"], &planned[0]["active"]),
        (&json!("api upgrade"), &json!(false))
    );
    assert_eq!(planned[0]["checks"], json!(["api-eu"]));

    // Without a session: the page, its JSON and its feed, and nothing unlisted.
    let html_res = get_with(&t, "/status/public", None).await;
    assert_eq!(html_res.status(), StatusCode::OK);
    assert!(html_res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let etag = html_res.headers()["etag"].to_str().unwrap().to_string();
    assert!(html_res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=10"));
    let html = html_res.text().await.unwrap();
    for shown in [
        "Example status",
        "Our website and API.",
        "website",
        "api-eu",
        "All systems operational",
    ] {
        assert!(html.contains(shown), "the page shows {shown:?}");
    }
    assert!(!html.contains("/pkg/vigil"), "no dashboard WASM or bundle on the page");
    assert_holds_nothing_unlisted("the page", &html, target);
    assert_holds_nothing_unlisted("the JSON", &page.to_string(), target);
    let feed = get_with(&t, "/status/public.atom", None).await;
    assert_eq!(feed.status(), StatusCode::OK);
    assert!(feed.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/atom+xml"));
    assert_holds_nothing_unlisted("the feed", &feed.text().await.unwrap(), target);

    // Served from memory with an ETag: the same version is a 304.
    let again = client()
        .get(t.http("/status/public"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Compressed once per render: the same page, smaller.
    for (coding, decode) in [
        (
            "br",
            (|b: &[u8]| {
                let mut out = Vec::new();
                brotli::BrotliDecompress(&mut std::io::Cursor::new(b), &mut out).unwrap();
                out
            }) as fn(&[u8]) -> Vec<u8>,
        ),
        ("gzip", |b: &[u8]| {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(b), &mut out).unwrap();
            out
        }),
    ] {
        let res = client()
            .get(t.http("/status/public"))
            .header("accept-encoding", coding)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-encoding"], coding);
        let packed = res.bytes().await.unwrap();
        assert!(
            packed.len() < html.len() / 3,
            "{coding}: {} of {}",
            packed.len(),
            html.len()
        );
        assert_eq!(String::from_utf8(decode(&packed)).unwrap(), html, "{coding}");
    }

    // Unknown slugs and forms are 404; every other door stays closed.
    for missing in ["/status/nope", "/status/public.txt", "/status/nope.json"] {
        assert_eq!(
            get_with(&t, missing, None).await.status(),
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    // Other paths under /status/ are pages like any other: sign in first
    // (never the app rendered for nobody).
    for other in [
        "/status",
        "/status/",
        "/status/public/",
        "/status/x/y",
        "/status/badges/website",
    ] {
        assert_eq!(
            get_with(&t, other, None).await.status(),
            StatusCode::SEE_OTHER,
            "{other}"
        );
    }
    for closed in [
        "/api/v1/checks",
        "/api/v1/incidents",
        "/api/v1/reports?from=0&to=1",
        "/api/v1/reports.csv?from=0&to=1",
    ] {
        assert_eq!(
            get_with(&t, closed, None).await.status(),
            StatusCode::UNAUTHORIZED,
            "{closed}"
        );
    }
    assert_eq!(get_with(&t, "/checks", None).await.status(), StatusCode::SEE_OTHER);
    let post = client().post(t.http("/status/public")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Its own host name: the page at `/`, and nothing of the dashboard.
    let on_host = |path: &str| {
        client()
            .get(t.http(path))
            .header("host", format!("{STATUS_HOST}:{}", t.server.addr.port()))
            .header(COOKIE, &admin)
            .send()
    };
    let root = on_host("/").await.unwrap();
    assert_eq!(root.status(), StatusCode::OK);
    assert!(root.text().await.unwrap().contains("Example status"));
    for path in ["/checks", "/api/v1/snapshot", "/login", "/ws"] {
        assert_eq!(
            on_host(path).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{path} on the status host"
        );
    }
    assert_eq!(on_host("/status/public.json").await.unwrap().status(), StatusCode::OK);

    // Badges: public for listed checks, for signed-in users only otherwise.
    let badge = get_with(&t, "/status/badges/website/status.svg", None).await;
    assert_eq!(badge.status(), StatusCode::OK);
    assert_eq!(badge.headers()["content-type"], "image/svg+xml");
    let svg = badge.text().await.unwrap();
    assert!(svg.contains("aria-label=\"website: up\""), "{svg}");
    let uptime = get_with(&t, "/status/badges/website/uptime-24h.svg", None).await;
    assert_eq!(uptime.status(), StatusCode::OK);
    assert!(uptime.text().await.unwrap().contains("uptime 24h"));
    for path in [
        format!("/status/badges/{HIDDEN_CHECK}/status.svg"),
        "/status/badges/website/uptime-1y.svg".to_string(),
        "/status/badges/website/status.png".to_string(),
        "/status/badges/nothing/status.svg".to_string(),
    ] {
        assert_eq!(
            get_with(&t, &path, None).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let hidden = get_with(&t, &format!("/status/badges/{HIDDEN_CHECK}/status.svg"), Some(&admin)).await;
    assert_eq!(hidden.status(), StatusCode::OK, "a signed-in user reads any badge");

    // A listed check goes down: the page says so within seconds, with no reason.
    knob.store(503, Ordering::SeqCst);
    let down = wait_for(&t, 10, "both checks down", |p| p["overall"] == "major_outage").await;
    assert_eq!(states(&down)[1], ("api-eu".into(), "down".into()));
    assert_holds_nothing_unlisted("the page in an outage", &down.to_string(), target);
    let html = get_with(&t, "/status/public", None).await.text().await.unwrap();
    assert!(html.contains("Major outage") && html.contains("Outage"));
    assert_ne!(
        get_with(&t, "/status/public", None).await.headers()["etag"]
            .to_str()
            .unwrap(),
        etag,
        "a new version"
    );

    // ...and drafts an incident per listed check, on the dashboard only.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let drafts = loop {
        let (_, board) = call_get(&t, "/api/v1/incidents", &admin).await;
        let drafts: Vec<Value> = board["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["draft"] == true)
            .cloned()
            .collect();
        if drafts.len() == 2 || tokio::time::Instant::now() > deadline {
            break drafts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let titles: Vec<&str> = drafts.iter().map(|d| d["title"].as_str().unwrap()).collect();
    assert!(
        titles.contains(&"website is down") && titles.contains(&"api-eu is down"),
        "{titles:?}"
    );
    let page = public_json(&t).await;
    assert!(
        page["active_incidents"].as_array().unwrap().is_empty(),
        "drafts are not public"
    );
    // Back up, then down again while the drafts are open: no second draft.
    knob.store(200, Ordering::SeqCst);
    wait_for(&t, 10, "back up", |p| p["overall"] == "operational").await;
    knob.store(503, Ordering::SeqCst);
    wait_for(&t, 10, "down again", |p| p["overall"] == "major_outage").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, board) = call_get(&t, "/api/v1/incidents", &admin).await;
    assert_eq!(board["incidents"].as_array().unwrap().len(), 2, "{board}");
    stop(t).await;
}

async fn call_get(t: &TestServer, path: &str, cookie: &str) -> (StatusCode, Value) {
    let res = get_with(t, path, Some(cookie)).await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A server function call from this origin's page.
async fn call(t: &TestServer, path: &str, form: &[(&str, &str)], cookie: &str) -> (StatusCode, Value) {
    call_with(t, path, form, cookie).await
}

#[tokio::test]
async fn incidents_go_from_open_to_resolved_on_the_page_and_in_the_feed() {
    let (t, admin, _knob, _) = exposed().await;
    // A viewer reads incidents but cannot open one.
    let (status, _) = call(
        &t,
        "/api/v1/users/add",
        &[
            ("name", "vera"),
            ("password", "viewer-pass-61c0aa"),
            ("confirm", "viewer-pass-61c0aa"),
            ("role", "viewer"),
        ],
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let res = post_json_with(
        &t,
        "/auth/login",
        json!({ "name": "vera", "password": "viewer-pass-61c0aa" }),
        None,
    )
    .await;
    let viewer = session(&res);
    let opening = [
        ("page", "public"),
        ("title", "Slow <b>API</b> answers"),
        ("impact", "minor"),
        ("status", "investigating"),
        ("body", "We see slow answers & are looking."),
    ];
    let (status, _) = call(&t, "/api/v1/incidents/open", &opening, &viewer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, board) = call_get(&t, "/api/v1/incidents", &viewer).await;
    assert_eq!((status, &board["can_edit"]), (StatusCode::OK, &json!(false)));

    // Another origin, with the admin's cookie: refused.
    let foreign = client()
        .post(t.http("/api/v1/incidents/open"))
        .header(COOKIE, &admin)
        .header("origin", "https://evil.example")
        .form(&opening)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);

    // Bad input: a clear error, nothing opened.
    let long = "x".repeat(5001);
    for (bad, want) in [
        (
            vec![
                ("page", "public"),
                ("title", " "),
                ("impact", "minor"),
                ("status", "investigating"),
                ("body", "b"),
            ],
            400,
        ),
        (
            vec![
                ("page", "nope"),
                ("title", "t"),
                ("impact", "minor"),
                ("status", "investigating"),
                ("body", "b"),
            ],
            404,
        ),
        (
            vec![
                ("page", "public"),
                ("title", "t"),
                ("impact", "dire"),
                ("status", "investigating"),
                ("body", "b"),
            ],
            400,
        ),
        (
            vec![
                ("page", "public"),
                ("title", "t"),
                ("impact", "minor"),
                ("status", "investigating"),
                ("body", long.as_str()),
            ],
            400,
        ),
    ] {
        let (status, body) = call(&t, "/api/v1/incidents/open", &bad, &admin).await;
        assert_eq!(status.as_u16(), want, "{bad:?}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    assert!(call_get(&t, "/api/v1/incidents", &admin).await.1["incidents"]
        .as_array()
        .unwrap()
        .is_empty());

    // Opened: on the public page at once, escaped.
    let (status, incident) = call(&t, "/api/v1/incidents/open", &opening, &admin).await;
    assert_eq!(status, StatusCode::OK, "{incident}");
    let id = incident["id"].as_i64().unwrap().to_string();
    let page = public_json(&t).await;
    assert_eq!(page["active_incidents"][0]["title"], "Slow <b>API</b> answers");
    let html = get_with(&t, "/status/public", None).await.text().await.unwrap();
    assert!(html.contains("Slow &lt;b&gt;API&lt;"), "escaped on the page");
    assert!(!html.contains("<b>API</b>"));
    assert!(html.contains("We see slow answers &amp; are looking."));

    // An update, then resolved: it moves to the past incidents and the feed.
    let (status, _) = call(
        &t,
        "/api/v1/incidents/update",
        &[
            ("id", &id),
            ("status", "identified"),
            ("body", "A slow database replica."),
        ],
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = public_json(&t).await;
    let updates = page["active_incidents"][0]["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(page["active_incidents"][0]["status"], "identified");
    let (status, resolved) = call(
        &t,
        "/api/v1/incidents/update",
        &[("id", &id), ("status", "resolved"), ("body", "Replica replaced.")],
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(resolved["resolved_at"].is_i64());
    let page = public_json(&t).await;
    assert!(page["active_incidents"].as_array().unwrap().is_empty());
    assert_eq!(page["past_incidents"][0]["title"], "Slow <b>API</b> answers");
    let feed = get_with(&t, "/status/public.atom", None).await.text().await.unwrap();
    assert!(
        feed.contains("<entry>") && feed.contains("Slow &lt;b&gt;API&lt;/b&gt; answers (Resolved)"),
        "{feed}"
    );
    assert!(feed.contains("Replica replaced."));
    let (status, _) = call(
        &t,
        "/api/v1/incidents/update",
        &[("id", "9999"), ("status", "resolved"), ("body", "x")],
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A published incident is never discarded.
    let (status, _) = call(&t, "/api/v1/incidents/discard", &[("id", &id)], &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Kept across a restart.
    let data = stop(t).await;
    let t = start_in(data, 200, |o| {
        o.config.status_pages = vec![page_config_only()];
        o.config.checks = vec![
            check("website", "127.0.0.1:1".parse().unwrap()),
            check("api-eu", "127.0.0.1:1".parse().unwrap()),
        ];
    })
    .await;
    let page = public_json(&t).await;
    assert_eq!(page["past_incidents"][0]["updates"].as_array().unwrap().len(), 3);
    stop(t).await;
}

fn page_config_only() -> StatusPageConfig {
    StatusPageConfig {
        hostname: None,
        ..page()
    }
}

#[tokio::test]
async fn the_public_doors_are_rate_limited_per_client() {
    let address = ExtraAddress::add("198.51.100.78");
    let (t, _admin, _knob, _) = exposed().await;
    let there = format!("http://{}:{}", address.0, t.server.addr.port());
    let mut limited = None;
    for i in 0..200 {
        let res = client()
            .get(format!("{there}/status/public.json"))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(res.headers().contains_key("retry-after"));
            limited = Some(i);
            break;
        }
        assert_eq!(res.status(), StatusCode::OK);
    }
    let at = limited.expect("a flood from one address is limited");
    assert!(
        (100..=130).contains(&at),
        "the burst is about 100 requests: limited at {at}"
    );
    // Others are still served.
    assert_eq!(get_with(&t, "/status/public.json", None).await.status(), StatusCode::OK);
    stop(t).await;
}

/// 2026-01-01T00:00Z, 2026-02-01T00:00Z, 2026-03-01T00:00Z.
const JAN: i64 = 1_767_225_600_000;
const FEB: i64 = 1_769_904_000_000;
const MAR: i64 = 1_772_323_200_000;
const MIN: i64 = 60_000;

#[tokio::test]
async fn the_report_counts_outages_across_a_month_boundary_without_maintenance() {
    // A history written for the test: api-eu up from Jan 1; down 30 min
    // from Jan 31 23:45 to Feb 1 00:15; down 60 min on Feb 10 10:00, of
    // which 10:30 to 11:00 is a maintenance window.
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    {
        let conn = vigil::store::open(&dir.join(vigil::store::FILE_NAME)).unwrap();
        let at = |t: i64, from: &str, to: &str| {
            conn.execute(
                "INSERT INTO transition (check_name, t, from_status, to_status, reason) VALUES ('api-eu', ?1, ?2, ?3, '')",
                rusqlite::params![t, from, to],
            )
            .unwrap();
        };
        at(JAN, "unknown", "up");
        at(FEB - 15 * MIN, "up", "down");
        at(FEB + 15 * MIN, "down", "up");
        at(FEB + 9 * 1440 * MIN + 600 * MIN, "up", "down");
        at(FEB + 9 * 1440 * MIN + 660 * MIN, "down", "up");
    }
    let t = start_in(data, 200, |o| {
        o.bind = "0.0.0.0:0".parse().unwrap();
        o.config.checks = vec![check("api-eu", "127.0.0.1:1".parse().unwrap())];
        o.config.checks[0].slo = Some(99.9);
        o.config.checks[0].interval = Duration::from_secs(3600);
        o.config.maintenance = vec![MaintenanceConfig {
            name: "replica swap".into(),
            start: Some("2026-02-10T10:30".into()),
            days: None,
            at: None,
            duration: Duration::from_secs(1800),
            timezone: Some("UTC".into()),
            rules: None,
            checks: Some(vec!["api-eu".into()]),
        }];
    })
    .await;
    let res = post_json_with(&t, "/auth/setup", json!({ "name": "root", "password": PASSWORD }), None).await;
    let admin = session(&res);

    let (status, jan) = call_get(&t, &format!("/api/v1/reports?from={JAN}&to={FEB}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{jan}");
    let row = &jan["rows"][0];
    assert_eq!(row["check"], "api-eu");
    assert_eq!(row["monitored_ms"], 31 * 1440 * MIN);
    assert_eq!(row["down_ms"], 15 * MIN);
    assert_eq!(row["outages"], 1);
    assert_eq!(row["mttr_ms"], Value::Null, "the January outage ends in February");
    assert_eq!(row["maintenance_ms"], 0);
    // 31 days at 99.9 %: 44.64 min allowed, 15 spent.
    assert_eq!(row["budget_ms"], 2_678_400);
    let left = row["budget_left_pct"].as_f64().unwrap();
    assert!(
        (left - (100.0 * (1.0 - 900_000.0 / 2_678_400.0))).abs() < 1e-9,
        "{left}"
    );

    let (_, feb) = call_get(&t, &format!("/api/v1/reports?from={FEB}&to={MAR}"), &admin).await;
    let row = &feb["rows"][0];
    assert_eq!(row["maintenance_ms"], 30 * MIN);
    assert_eq!(row["monitored_ms"], 28 * 1440 * MIN - 30 * MIN);
    assert_eq!(
        row["down_ms"],
        15 * MIN + 30 * MIN,
        "15 min after midnight, 30 of the 60 outside maintenance"
    );
    assert_eq!(row["outages"], 2);
    assert_eq!(row["mttr_ms"], 45 * MIN, "mean of 30 and 60 minutes, each whole");
    let uptime = row["uptime_pct"].as_f64().unwrap();
    let expected = 100.0 * (1.0 - (45.0 * 60_000.0) / (28.0 * 1440.0 * 60_000.0 - 30.0 * 60_000.0));
    assert!((uptime - expected).abs() < 1e-9, "{uptime} vs {expected}");

    // The CSV export says the same, for a signed-in user only.
    let csv = get_with(&t, &format!("/api/v1/reports.csv?from={FEB}&to={MAR}"), Some(&admin)).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("vigil-report-2026-02-01-2026-02-28.csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("check,from,to,monitored_minutes,down_minutes"));
    let fields: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &fields[..5],
        ["api-eu", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "40290", "45"]
    );

    // Bogus ranges: a clear error.
    for bad in [
        format!("from={FEB}&to={JAN}"),
        "from=0&to=99999999999999".into(),
        "from=x&to=1".into(),
    ] {
        let (status, body) = call_get(&t, &format!("/api/v1/reports?{bad}"), &admin).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        let csv = get_with(&t, &format!("/api/v1/reports.csv?{bad}"), Some(&admin)).await;
        assert_eq!(csv.status(), StatusCode::BAD_REQUEST, "csv {bad}");
    }
    stop(t).await;
}

#[tokio::test]
async fn an_open_vigil_serves_its_status_pages_under_any_host_and_nothing_else() {
    // Open (loopback, no account): a page reached under a foreign Host
    // (a rebound name) shows the page, and every other door still refuses it.
    let (addr, _knob) = target().await;
    let t = start_with(200, |o| {
        o.config.checks = vec![check("website", addr), check("api-eu", addr), check(HIDDEN_CHECK, addr)];
        o.config.status_pages = vec![StatusPageConfig {
            hostname: None,
            ..page()
        }];
    })
    .await;
    let foreign = |path: &str| {
        client()
            .get(t.http(path))
            .header("host", format!("evil.example:{}", t.server.addr.port()))
            .send()
    };
    let page = foreign("/status/public.json").await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(body.contains("\"website\"") && !body.contains(HIDDEN_CHECK), "{body}");
    for path in ["/api/v1/snapshot", "/api/v1/checks", "/", "/status/x/y"] {
        assert_eq!(
            foreign(path).await.unwrap().status(),
            StatusCode::MISDIRECTED_REQUEST,
            "{path} under a foreign Host"
        );
    }
    stop(t).await;
}
