//! Accounts and the doors, against a real server bound beyond loopback
//! (0.0.0.0, reached on 127.0.0.1): no data before the first account, every
//! door wants a session afterwards, viewers cannot administer, sign-out
//! and sessions are real, the sign-in rate limit holds, sessions survive a
//! restart, and the logs never hold a password or a token.
//!
//! And the holes a reader found, each closed: every route (listed from the
//! router itself) refused without a session, in every path form that could
//! mean another path; an open Vigil answering only its own machine's
//! browsers; state changes only from this origin's pages; the current
//! password to change one's own; `next=` never leaving the site; proxy
//! headers believed only from trusted proxies; expired sessions; `Secure`
//! cookies; private files.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use vigil::auth::proxy::TrustedProxies;

const ADMIN_PASSWORD: &str = "admin-pass-7f3c91";
const VIEWER_PASSWORD: &str = "viewer-pass-2b8e44";

/// Everything the server logs during this test binary.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    captured
}

/// The server bound to every address, so it must not run open.
async fn exposed(data: tempfile::TempDir, tune: impl FnOnce(&mut vigil::Options)) -> TestServer {
    start_in(data, 200, |o| {
        o.bind = "0.0.0.0:0".parse().unwrap();
        tune(o);
    })
    .await
}

/// The `name=value` part of the session cookie a response set.
fn session_cookie(res: &reqwest::Response) -> String {
    let set = res
        .headers()
        .get(SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{attr} missing from {set}");
    }
    set.split(';').next().unwrap().to_string()
}

async fn sign_in(t: &TestServer, name: &str, password: &str) -> String {
    let res = post_json_with(t, "/auth/login", json!({ "name": name, "password": password }), None).await;
    assert_eq!(res.status(), StatusCode::OK, "sign-in of {name}");
    session_cookie(&res)
}

/// Opens `/ws` with these headers; the HTTP status when refused.
async fn open_ws(t: &TestServer, cookie: Option<&str>, origin: Option<&str>) -> Result<Ws, u16> {
    let mut request = format!("ws://127.0.0.1:{}/ws", t.server.addr.port())
        .into_client_request()
        .unwrap();
    if let Some(c) = cookie {
        request.headers_mut().insert("cookie", c.parse().unwrap());
    }
    if let Some(o) = origin {
        request.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(other) => panic!("unexpected WebSocket error: {other}"),
    }
}

async fn assert_refused_everywhere(t: &TestServer, cookie: Option<&str>, why: &str) {
    for api in ["/api/v1/snapshot", "/api/v1/series", "/api/v1/checks", "/api/v1/users"] {
        let res = get_with(t, api, cookie).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{api} {why}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].is_string(), "{api}: {body}");
    }
    let page = get_with(t, "/checks?q=x", cookie).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "pages redirect {why}");
    let to = page.headers()["location"].to_str().unwrap().to_string();
    assert!(to == "/setup" || to == "/login?next=/checks%3Fq%3Dx", "{to}");
    assert_eq!(
        get_with(t, "/metrics", cookie).await.status(),
        StatusCode::UNAUTHORIZED,
        "/metrics {why}"
    );
    let origin = format!("http://127.0.0.1:{}", t.server.addr.port());
    assert_eq!(open_ws(t, cookie, Some(&origin)).await.err(), Some(401), "/ws {why}");
    // /healthz stays open, with the status alone.
    let health: Value = get_with(t, "/healthz", cookie).await.json().await.unwrap();
    assert!(
        health["status"].is_string() && health.get("components").is_none(),
        "{health}"
    );
}

#[tokio::test]
async fn every_door_is_checked_and_sessions_are_real() {
    let logs = capture_logs();
    // Every password this test sends, right or wrong: none may be logged.
    let mut sent = vec![
        ADMIN_PASSWORD.to_string(),
        VIEWER_PASSWORD.to_string(),
        "short".to_string(),
    ];
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("metrics.token");
    std::fs::write(&token_file, "scrape-token-51d0\n").unwrap();
    let tune = |o: &mut vigil::Options| {
        o.config.auth.metrics_token_file = Some(token_file.clone());
        o.config.auth.attempts_per_minute = 5;
    };
    let t = exposed(tempfile::tempdir().unwrap(), tune).await;

    // No account yet: no data anywhere, and pages point to the setup page.
    assert_refused_everywhere(&t, None, "before any account").await;
    let setup = get_with(&t, "/setup", None).await;
    assert_eq!(setup.status(), StatusCode::OK);
    assert!(setup.text().await.unwrap().contains("data-testid=\"setup-required\""));
    let short = post_json_with(&t, "/auth/setup", json!({ "name": "root", "password": "short" }), None).await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert_refused_everywhere(&t, None, "after a refused setup").await;

    // The first account: an admin, signed in at once.
    let res = post_json_with(
        &t,
        "/auth/setup",
        json!({ "name": "root", "password": ADMIN_PASSWORD }),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let admin = session_cookie(&res);
    let again = post_json_with(
        &t,
        "/auth/setup",
        json!({ "name": "late", "password": ADMIN_PASSWORD }),
        None,
    )
    .await;
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "setup is closed once an account exists"
    );
    assert_eq!(get_with(&t, "/setup", None).await.headers()["location"], "/login");

    // With the session every door opens.
    for path in [
        "/api/v1/snapshot",
        "/api/v1/series",
        "/api/v1/checks",
        "/metrics",
        "/",
        "/admin/users",
    ] {
        assert_eq!(
            get_with(&t, path, Some(&admin)).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    let full: Value = get_with(&t, "/healthz", Some(&admin)).await.json().await.unwrap();
    assert!(full["components"].is_array(), "{full}");
    let origin = format!("http://127.0.0.1:{}", t.server.addr.port());
    let mut ws = open_ws(&t, Some(&admin), Some(&origin))
        .await
        .expect("a session opens /ws");
    assert!(next_json(&mut ws).await["type"].is_string());
    assert_eq!(
        open_ws(&t, Some(&admin), Some("https://evil.example")).await.err(),
        Some(403),
        "a foreign Origin is refused even with a session"
    );
    // Prometheus scrapes with the bearer token.
    let scrape = client()
        .get(t.http("/metrics"))
        .bearer_auth("scrape-token-51d0")
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    let wrong = client()
        .get(t.http("/metrics"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_refused_everywhere(&t, None, "without a session").await;
    assert_refused_everywhere(
        &t,
        Some(&format!("vigil_session={}", "ab".repeat(32))),
        "with a made-up session",
    )
    .await;

    // A viewer reads but cannot administer.
    let (status, body) = call_with(
        &t,
        "/api/v1/users/add",
        &[
            ("name", "eve"),
            ("password", VIEWER_PASSWORD),
            ("confirm", VIEWER_PASSWORD),
            ("role", "viewer"),
        ],
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let viewer = sign_in(&t, "eve", VIEWER_PASSWORD).await;
    assert_eq!(
        get_with(&t, "/api/v1/snapshot", Some(&viewer)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get_with(&t, "/admin/users", Some(&viewer)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_with(&t, "/api/v1/users", Some(&viewer)).await.status(),
        StatusCode::FORBIDDEN
    );
    let (status, _) = call_with(
        &t,
        "/api/v1/users/add",
        &[
            ("name", "mallory"),
            ("password", VIEWER_PASSWORD),
            ("confirm", VIEWER_PASSWORD),
            ("role", "admin"),
        ],
        &viewer,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot add accounts");
    let (status, _) = call_with(&t, "/api/v1/users/remove", &[("name", "root")], &viewer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot remove accounts");
    sent.push("taken-over-1c4".into());
    let (status, _) = call_with(
        &t,
        "/api/v1/users/password",
        &[
            ("name", "root"),
            ("password", "taken-over-1c4"),
            ("confirm", "taken-over-1c4"),
        ],
        &viewer,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot set another's password");
    // Alerts: a viewer reads them, and changes nothing.
    for api in ["/api/v1/alerts", "/api/v1/silences"] {
        assert_eq!(get_with(&t, api, Some(&viewer)).await.status(), StatusCode::OK, "{api}");
    }
    let board: Value = get_with(&t, "/api/v1/alerts/board", Some(&viewer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(board["can_edit"], false, "{board}");
    for (api, form) in alert_changes() {
        let (status, body) = call_with(&t, api, &form, &viewer).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot {api}: {body}");
    }
    let silences: Value = get_with(&t, "/api/v1/silences", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(silences, json!([]), "nothing was added");
    let (status, body) = call_with(&t, "/api/v1/users/remove", &[("name", "root")], &admin).await;
    assert_eq!(status, StatusCode::CONFLICT, "the last admin stays: {body}");

    // Signing out ends the session for every door, /ws included, and the
    // live socket it has open closes at once, saying why.
    let mut viewer_ws = open_ws(&t, Some(&viewer), Some(&origin))
        .await
        .expect("the viewer's session opens /ws");
    assert!(next_json(&mut viewer_ws).await["type"].is_string());
    let out = client()
        .post(t.http("/auth/logout"))
        .header(COOKIE, &viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert!(out.headers().contains_key("clear-site-data"));
    assert_refused_everywhere(&t, Some(&viewer), "after signing out").await;
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        expect_close(&mut viewer_ws, CloseCode::Policy, "signed out"),
    )
    .await
    .expect("the signed-out session's socket closes within 5 s");
    // The admin's socket, another session, stays open.
    assert!(next_json(&mut ws).await["type"].is_string());

    // The sign-in rate limit: five attempts a minute per address, the two
    // setups and the viewer's sign-in above included (setup hashes too).
    for attempt in 2..=3 {
        let guess = format!("guess-{attempt}-9d2f");
        sent.push(guess.clone());
        let res = post_json_with(&t, "/auth/login", json!({ "name": "root", "password": guess }), None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let limited = post_json_with(
        &t,
        "/auth/login",
        json!({ "name": "root", "password": ADMIN_PASSWORD }),
        None,
    )
    .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("try again in"), "{body}");
    // A browser form gets the sign-in page back with the reason.
    let form = client()
        .post(t.http("/auth/login"))
        .form(&[("name", "root"), ("password", ADMIN_PASSWORD), ("next", "/checks")])
        .send()
        .await
        .unwrap();
    let back = form.headers()["location"].to_str().unwrap();
    assert!(back.starts_with("/login?next=/checks&error=limited&wait="), "{back}");
    // Others are still served.
    assert_eq!(
        get_with(&t, "/api/v1/snapshot", Some(&admin)).await.status(),
        StatusCode::OK
    );

    // Sessions survive a restart; signed-out ones stay out.
    let data = stop(t).await;
    let t = exposed(data, tune).await;
    assert_eq!(
        get_with(&t, "/api/v1/snapshot", Some(&admin)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get_with(&t, "/api/v1/snapshot", Some(&viewer)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    stop(t).await;

    // The logs tell what happened, but never a password or a token.
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("signed in"), "the capture works: {text}");
    assert!(text.contains("failed sign-in"));
    assert_eq!(sent.len(), 6, "every password sent is on the list");
    sent.extend([
        "scrape-token-51d0".to_string(),
        admin[14..].to_string(),
        viewer[14..].to_string(),
    ]);
    for secret in &sent {
        assert!(!text.contains(secret.as_str()), "a secret in the logs: {secret}");
    }
}

#[tokio::test]
async fn loopback_runs_open_until_an_account_exists_unless_behind_a_proxy_and_an_admin_can_be_configured() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("admin.password");
    std::fs::write(&password_file, format!("{ADMIN_PASSWORD}\n")).unwrap();

    // Loopback, no account: open, as a local tool.
    let t = start(200).await;
    assert_eq!(get_json(&t, "/api/v1/snapshot").await.0, 200);
    let me: Value = get_with(&t, "/api/v1/me", None).await.json().await.unwrap();
    assert_eq!(me, json!({ "name": null, "role": "admin" }));
    stop(t).await;

    // Loopback with a configured admin: sign-in required, /metrics stays
    // open for a local Prometheus.
    let t = start_with(200, |o| {
        o.config.auth.admin_user = Some("ops".into());
        o.config.auth.admin_password_file = Some(password_file.clone());
    })
    .await;
    assert_eq!(
        get_with(&t, "/api/v1/snapshot", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get_with(&t, "/metrics", None).await.status(), StatusCode::OK);
    let ops = sign_in(&t, "ops", ADMIN_PASSWORD).await;
    let me: Value = get_with(&t, "/api/v1/me", Some(&ops)).await.json().await.unwrap();
    assert_eq!(me, json!({ "name": "ops", "role": "admin" }));
    stop(t).await;

    // Behind a proxy (--trust-proxy) loopback is the proxy: never open.
    let t = start_with(200, |o| o.trusted_proxies = TrustedProxies::loopback()).await;
    assert_eq!(
        get_with(&t, "/api/v1/snapshot", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get_with(&t, "/", None).await.headers()["location"], "/setup");
    stop(t).await;

    // A configured admin without a password is a clear start error.
    let mut config = vigil::config::Config::default();
    config.auth.admin_user = Some("ops".into());
    let options = vigil::Options::new("127.0.0.1:0".parse().unwrap(), dir.path().join("other"), config);
    let err = vigil::Server::start(options).await.err().expect("refuses to start");
    assert!(err.to_string().contains("VIGIL_ADMIN_PASSWORD"), "{err}");
}

/// What no answer to a request without a session may hold: this host's
/// name, a check's name, a series name.
const HOST_MARK: &str = "secret-host-7e1";
const CHECK_MARK: &str = "secret-check-41";

fn assert_holds_no_data(what: &str, body: &str) {
    for mark in [HOST_MARK, CHECK_MARK, "memory_used_bytes", "cpu_usage_percent"] {
        assert!(
            !body.contains(mark),
            "{what} leaked {mark:?}: {}",
            &body[..body.len().min(400)]
        );
    }
}

/// Exposed, with an account, a named host and a named check.
async fn exposed_with_marks() -> (TestServer, String) {
    let t = exposed(tempfile::tempdir().unwrap(), |o| {
        o.config.host.name = Some(HOST_MARK.into());
        let mut check = vigil::checks::config::CheckConfig::new(CHECK_MARK, app::checks::CheckKind::Tcp);
        check.address = Some("127.0.0.1:1".into());
        check.interval = std::time::Duration::from_secs(3600);
        o.config.checks = vec![check];
    })
    .await;
    let res = post_json_with(
        &t,
        "/auth/setup",
        json!({ "name": "root", "password": ADMIN_PASSWORD }),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let admin = session_cookie(&res);
    (t, admin)
}

/// Routes anyone may reach without a session (each refuses in its own way
/// what it must). A door added to the router is refused by this test
/// until it is refused by the gate or listed here.
const PUBLIC: &[&str] = &[
    "/login",
    "/setup",
    "/auth/login",
    "/auth/logout",
    "/auth/setup",
    "/healthz",
    "/sw.js",
    // Status pages: each shows only what it lists (tests/status.rs).
    "/status/{file}",
    "/status/assets/page.js",
    "/status/badges/{check}/{kind}",
];

/// `path` with its parameters filled in with the check's name.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str(CHECK_MARK);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// Every form of `path` that a reader found the gate and the page router
/// reading differently: dot segments after a public prefix, raw and
/// encoded, encoded slashes and backslashes, empty segments.
fn other_forms(path: &str) -> Vec<String> {
    let rest = path.trim_start_matches('/');
    let mut forms = Vec::new();
    for prefix in ["/auth", "/pkg", "/icons", "/vendor", "/login"] {
        forms.extend([
            format!("{prefix}/../{rest}"),
            format!("{prefix}/%2e%2e/{rest}"),
            format!("{prefix}/.%2E/{rest}"),
            format!("{prefix}/%2E/../{rest}"),
            format!("{prefix}%2f..%2f{rest}"),
            format!("{prefix}/..%2F{rest}"),
            format!("{prefix}/..%5c{rest}"),
            format!("{prefix}\\..\\{rest}"),
            format!("{prefix}//../{rest}"),
            format!("{prefix}/%252e%252e/{rest}"),
        ]);
    }
    forms.push(format!("//{rest}"));
    forms.push(format!("/./{rest}"));
    forms
}

#[tokio::test]
async fn every_door_of_the_router_is_refused_without_a_session_in_every_path_form() {
    let (t, admin) = exposed_with_marks().await;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], t.server.addr.port()));
    let endpoints = vigil::http::endpoints();
    // The list is the router's: pages, server functions and our own routes.
    for expected in [
        "/api/v1/snapshot",
        "/api/v1/users/add",
        "/checks/{name}",
        "/ws",
        "/metrics",
        "/auth/login",
    ] {
        assert!(
            endpoints.iter().any(|e| e.path == expected),
            "{expected} missing from {endpoints:?}"
        );
    }
    assert!(endpoints.len() >= 25, "{endpoints:?}");
    for endpoint in &endpoints {
        let path = concrete(&endpoint.path);
        let method = endpoint.method.as_str();
        let door = format!("{method} {path}");
        let res = raw_request(addr, method, &path, &["Accept: text/html"]).await;
        assert_holds_no_data(&door, &res.body);
        if !PUBLIC.contains(&endpoint.path.as_str()) {
            let location = res.header("location").unwrap_or("");
            let refused = res.status == 401
                || res.status == 403
                || (res.status == 303 && (location.starts_with("/login?next=") || location == "/setup"));
            assert!(refused, "{door} without a session: {} {location}", res.status);
        }
        // Another path's forms: refused before anything reads them, with
        // or without a session.
        for form in other_forms(&path) {
            for cookie in [None, Some(admin.as_str())] {
                let cookie = cookie.map(|c| format!("Cookie: {c}"));
                let headers: Vec<&str> = cookie.iter().map(String::as_str).collect();
                let res = raw_request(addr, method, &form, &headers).await;
                assert_eq!(res.status, 400, "{method} {form}: {}", res.body);
                assert_holds_no_data(&format!("{method} {form}"), &res.body);
            }
        }
    }
    // With the session, the same doors open (the pages and the APIs).
    for (path, mark) in [
        ("/api/v1/snapshot", HOST_MARK),
        ("/api/v1/health", CHECK_MARK),
        (&format!("/api/v1/checks/{CHECK_MARK}"), CHECK_MARK),
        ("/hosts", HOST_MARK),
    ] {
        let res = get_with(&t, path, Some(&admin)).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(
            res.text().await.unwrap().contains(mark),
            "{path} with a session shows {mark}"
        );
    }
    // An unknown API path is a JSON 404, not the page.
    let missing = get_with(&t, "/api/v1/nothing-here", Some(&admin)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.expect("a JSON error");
    assert!(body["error"].is_string(), "{body}");
    stop(t).await;
}

/// `Origin` (and `Host`) headers a page on another site would send.
fn from_origin(origin: &str) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("origin", origin.parse().unwrap());
    h
}

#[tokio::test]
async fn an_open_vigil_answers_only_this_machines_browsers() {
    let t = start(200).await;
    let port = t.server.addr.port();
    let base = format!("http://127.0.0.1:{port}");
    // Loopback names are served.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let res = client()
            .get(format!("{base}/api/v1/snapshot"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{host}");
    }
    // DNS rebinding: a page at evil.example, resolved to 127.0.0.1, reads
    // nothing: not the API, not /metrics, not a page, not the socket.
    let rebound = format!("evil.example:{port}");
    for path in ["/api/v1/snapshot", "/metrics", "/", "/checks", "/setup"] {
        let res = client()
            .get(format!("{base}{path}"))
            .header("host", &rebound)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains("loopback names") && !body.contains("memory"),
            "{path}: {body}"
        );
    }
    let mut request = format!("ws://127.0.0.1:{port}/ws").into_client_request().unwrap();
    request.headers_mut().insert("host", rebound.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", format!("http://{rebound}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status().as_u16(), 421),
        other => panic!("a rebound socket must be refused: {:?}", other.map(|_| ())),
    }
    // And it creates no account, by any door.
    let res = client()
        .post(format!("{base}/auth/setup"))
        .header("host", &rebound)
        .header("origin", format!("http://{rebound}"))
        .json(&json!({ "name": "mallory", "password": "mallory-pass-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    // Another site's page (its own Host is right, its Origin is not)
    // changes nothing either: a urlencoded post needs no preflight.
    let add = [
        ("name", "mallory"),
        ("password", "mallory-pass-1"),
        ("confirm", "mallory-pass-1"),
        ("role", "admin"),
    ];
    for origin in ["http://evil.example", &format!("http://127.0.0.1:{}", port + 1), "null"] {
        let res = client()
            .post(format!("{base}/api/v1/users/add"))
            .headers(from_origin(origin))
            .form(&add)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin}");
        let res = client()
            .post(format!("{base}/auth/setup"))
            .headers(from_origin(origin))
            .form(&[
                ("name", "mallory"),
                ("password", "mallory-pass-1"),
                ("confirm", "mallory-pass-1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin}");
    }
    let res = client()
        .post(format!("{base}/api/v1/users/add"))
        .header("sec-fetch-site", "cross-site")
        .form(&add)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "fetch metadata says cross-site");
    // Through a proxy nobody declared (a loopback bind behind nginx without
    // --trust-proxy): not this machine's browser, so nothing at all.
    for path in ["/api/v1/snapshot", "/metrics", "/setup"] {
        let res = client()
            .get(format!("{base}{path}"))
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(res.text().await.unwrap().contains("--trust-proxy"), "{path}");
    }
    let res = client()
        .post(format!("{base}/auth/setup"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({ "name": "mallory", "password": "mallory-pass-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let me: Value = get_with(&t, "/api/v1/me", None).await.json().await.unwrap();
    assert_eq!(
        me,
        json!({ "name": null, "role": "admin" }),
        "still open, still no account"
    );

    // This machine's browser, same origin: served. A socket it opened
    // while Vigil ran open closes once the first account exists.
    let origin = format!("http://127.0.0.1:{port}");
    let mut ws = open_ws(&t, None, Some(&origin))
        .await
        .expect("open: the socket is served");
    assert!(next_json(&mut ws).await["type"].is_string());
    let res = client()
        .post(format!("{base}/auth/setup"))
        .headers(from_origin(&origin))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("name", "root"),
            ("password", ADMIN_PASSWORD),
            ("confirm", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        expect_close(&mut ws, CloseCode::Policy, "signed out"),
    )
    .await
    .expect("the open socket closes when the first account is created");
    assert_eq!(
        get_with(&t, "/api/v1/snapshot", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    stop(t).await;
}

#[tokio::test]
async fn state_changes_need_this_origin_and_ones_own_password_the_current_one() {
    let t = exposed(tempfile::tempdir().unwrap(), |_| {}).await;
    let port = t.server.addr.port();
    let res = post_json_with(
        &t,
        "/auth/setup",
        json!({ "name": "root", "password": ADMIN_PASSWORD }),
        None,
    )
    .await;
    let admin = session_cookie(&res);
    let add = |name: &'static str| {
        [
            ("name", name),
            ("password", VIEWER_PASSWORD),
            ("confirm", VIEWER_PASSWORD),
            ("role", "viewer"),
        ]
    };
    // With the admin's cookie, from another port of this host, a sibling
    // name, or a page that hides its origin: refused. SameSite lets the
    // cookie through in all of these; the Origin check does not.
    for (origin, fetch_site) in [
        (Some(format!("http://127.0.0.1:{}", port + 1)), None),
        (Some(format!("http://localhost:{port}")), None),
        (Some("null".to_string()), Some("same-site")),
        (None, Some("same-site")),
    ] {
        let mut req = client()
            .post(t.http("/api/v1/users/add"))
            .header(COOKIE, &admin)
            .form(&add("mallory"));
        if let Some(o) = &origin {
            req = req.header("origin", o);
        }
        if let Some(f) = fetch_site {
            req = req.header("sec-fetch-site", f);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin:?} {fetch_site:?}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("cross-origin"), "{body}");
    }
    // Signing someone out is a state change too.
    let res = client()
        .post(t.http("/auth/logout"))
        .header(COOKIE, &admin)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let users: Value = get_with(&t, "/api/v1/users", Some(&admin)).await.json().await.unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1, "no account was added: {users}");
    // So are the alerts' doors: silences, windows, test messages.
    for (path, form) in alert_changes() {
        let res = client()
            .post(t.http(path))
            .header(COOKIE, &admin)
            .header("origin", "http://evil.example")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} from another origin");
    }
    let silences: Value = get_with(&t, "/api/v1/silences", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(silences, json!([]), "no silence was added");
    // From this origin's own page (a form post says `Origin: null` only
    // under a no-referrer policy, with the fetch metadata beside it).
    for (origin, fetch_site) in [
        (Some(format!("http://127.0.0.1:{port}")), None),
        (Some("null".to_string()), Some("same-origin")),
    ] {
        let name = if origin.as_deref() == Some("null") {
            "eve2"
        } else {
            "eve"
        };
        let mut req = client()
            .post(t.http("/api/v1/users/add"))
            .header(COOKIE, &admin)
            .header("accept", "application/json")
            .form(&add(name));
        if let Some(o) = &origin {
            req = req.header("origin", o);
        }
        if let Some(f) = fetch_site {
            req = req.header("sec-fetch-site", f);
        }
        assert_eq!(req.send().await.unwrap().status(), StatusCode::OK, "{origin:?}");
    }

    // A session alone does not change its own password: the current one
    // is asked for, and a wrong one changes nothing.
    let viewer = sign_in(&t, "eve", VIEWER_PASSWORD).await;
    let change = |current: Option<&'static str>| {
        let mut form = vec![
            ("name", "eve"),
            ("password", "eve-new-pass-3"),
            ("confirm", "eve-new-pass-3"),
        ];
        if let Some(c) = current {
            form.push(("current", c));
        }
        form
    };
    for current in [None, Some(""), Some("not-the-password")] {
        let (status, body) = call_with(&t, "/api/v1/users/password", &change(current), &viewer).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{current:?}: {body}");
        assert_eq!(body["error"], "the current password is wrong", "{body}");
    }
    let (status, body) = call_with(&t, "/api/v1/users/password", &change(Some(VIEWER_PASSWORD)), &viewer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    sign_in(&t, "eve", "eve-new-pass-3").await;
    // An admin setting another's password needs no current one.
    let (status, body) = call_with(
        &t,
        "/api/v1/users/password",
        &[
            ("name", "eve"),
            ("password", "eve-newer-pass-4"),
            ("confirm", "eve-newer-pass-4"),
        ],
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    stop(t).await;
}

#[tokio::test]
async fn next_after_signing_in_never_leaves_the_site() {
    let t = exposed(tempfile::tempdir().unwrap(), |o| {
        o.config.auth.attempts_per_minute = 100
    })
    .await;
    post_json_with(
        &t,
        "/auth/setup",
        json!({ "name": "root", "password": ADMIN_PASSWORD }),
        None,
    )
    .await;
    let here = url::Url::parse(&t.http("/")).unwrap();
    for next in [
        "/\t/evil.example",
        "/%09/evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "//evil.example",
        "\t//evil.example",
        "/\n/evil.example",
        "/%5C/evil.example",
        "/%2F/evil.example",
        "https://evil.example/",
        "//user:pass@evil.example",
        "/checks?q=1",
    ] {
        let res = client()
            .post(t.http("/auth/login"))
            .form(&[("name", "root"), ("password", ADMIN_PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next:?}");
        let location = res.headers()["location"].to_str().unwrap();
        // Where the browser goes: the Location read by the URL rules.
        let target = here.join(location).unwrap();
        assert_eq!(target.origin(), here.origin(), "{next:?} -> {location:?}");
        assert!(!location.contains(['\t', '\n', '\\']), "{next:?} -> {location:?}");
    }
    stop(t).await;
}

#[tokio::test]
async fn forwarding_headers_count_only_from_the_proxies_trusted() {
    let sign_in_from = |t: &TestServer, forwarded: &'static str| {
        let req = client()
            .post(t.http("/auth/login"))
            .header("x-forwarded-for", forwarded)
            .header("x-forwarded-proto", "https")
            .json(&json!({ "name": "root", "password": ADMIN_PASSWORD }));
        async move { req.send().await.unwrap() }
    };
    // A proxy elsewhere is trusted, not the peer: the header is the
    // client's own word, and every attempt counts against the peer.
    let t = exposed(tempfile::tempdir().unwrap(), |o| {
        o.config.auth.attempts_per_minute = 3;
        o.trusted_proxies = TrustedProxies::parse(&["192.0.2.1/32"]).unwrap();
    })
    .await;
    post_json_with(
        &t,
        "/auth/setup",
        json!({ "name": "root", "password": ADMIN_PASSWORD }),
        None,
    )
    .await;
    let mut statuses = Vec::new();
    for forwarded in ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"] {
        let res = sign_in_from(&t, forwarded).await;
        if res.status() == StatusCode::OK {
            let cookie = res.headers()[SET_COOKIE].to_str().unwrap();
            assert!(
                !cookie.contains("Secure"),
                "X-Forwarded-Proto from an untrusted peer: {cookie}"
            );
        }
        statuses.push(res.status().as_u16());
    }
    // The setup's own attempt counted too: three a minute.
    assert_eq!(
        statuses,
        [200, 200, 429, 429],
        "a forged X-Forwarded-For bought new attempts"
    );
    stop(t).await;

    // The peer is the trusted proxy: each client has its own limit, an
    // IPv6 client one per /64, and the proxy's word on HTTPS counts.
    let t = exposed(tempfile::tempdir().unwrap(), |o| {
        o.config.auth.attempts_per_minute = 2;
        o.trusted_proxies = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
    })
    .await;
    let res = client()
        .post(t.http("/auth/setup"))
        .header("x-forwarded-for", "198.51.100.200")
        .json(&json!({ "name": "root", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for forwarded in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let res = sign_in_from(&t, forwarded).await;
        assert_eq!(res.status(), StatusCode::OK, "{forwarded} has its own limit");
        let cookie = res.headers()[SET_COOKIE].to_str().unwrap();
        assert!(cookie.contains("; Secure"), "the trusted proxy says HTTPS: {cookie}");
    }
    let mut statuses = Vec::new();
    for forwarded in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
        statuses.push(sign_in_from(&t, forwarded).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429], "one /64 is one client");
    assert_eq!(sign_in_from(&t, "2001:db8:1:3::1").await.status(), StatusCode::OK);
    stop(t).await;
}

#[tokio::test]
async fn an_expired_session_is_refused_and_its_socket_closes() {
    let t = exposed(tempfile::tempdir().unwrap(), |o| {
        o.config.auth.session_ttl = std::time::Duration::from_secs(3);
    })
    .await;
    let res = post_json_with(
        &t,
        "/auth/setup",
        json!({ "name": "root", "password": ADMIN_PASSWORD }),
        None,
    )
    .await;
    let admin = session_cookie(&res);
    let origin = format!("http://127.0.0.1:{}", t.server.addr.port());
    let mut ws = open_ws(&t, Some(&admin), Some(&origin))
        .await
        .expect("a live session opens /ws");
    assert!(next_json(&mut ws).await["type"].is_string());
    assert_eq!(
        get_with(&t, "/api/v1/snapshot", Some(&admin)).await.status(),
        StatusCode::OK
    );
    tokio::time::timeout(
        std::time::Duration::from_secs(6),
        expect_close(&mut ws, CloseCode::Policy, "signed out"),
    )
    .await
    .expect("the socket closes when its session expires");
    assert_refused_everywhere(&t, Some(&admin), "after the session expired").await;
    stop(t).await;
}

#[tokio::test]
async fn cookies_are_secure_under_tls_and_the_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_certificate(dir.path());
    let t = exposed(tempfile::tempdir().unwrap(), |o| {
        o.config.server.tls_cert = Some(cert);
        o.config.server.tls_key = Some(key);
    })
    .await;
    let https = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap())
        .resolve(
            "localhost",
            std::net::SocketAddr::from(([127, 0, 0, 1], t.server.addr.port())),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = https
        .post(format!("https://localhost:{}/auth/setup", t.server.addr.port()))
        .json(&json!({ "name": "root", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    // Only Vigil's user reads the data dir, the accounts or their WAL.
    let data = t.data.path().join("data");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for file in ["auth.db", "auth.db-wal", "vigil.db"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    let backup = t.data.path().join("backup");
    vigil::app::backup_data_dir(&data, &backup).unwrap();
    assert_eq!(mode(&backup), 0o700);
    for file in ["auth.db", "vigil.db"] {
        assert_eq!(mode(&backup.join(file)), 0o600, "backup {file}");
    }
    stop(t).await;
}

/// Every state change on the alerts page, with a form that would pass
/// validation: silences, windows, a test message.
fn alert_changes() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "/api/v1/silences/add",
            vec![("rule", "check-down"), ("duration", "1h"), ("comment", "quiet")],
        ),
        ("/api/v1/silences/end", vec![("id", "1")]),
        (
            "/api/v1/maintenance/add",
            vec![("name", "w"), ("start", "2030-01-01T00:00"), ("duration", "1h")],
        ),
        ("/api/v1/maintenance/end", vec![("id", "1")]),
        ("/api/v1/notify/test", vec![("name", "webhook")]),
    ]
}
