//! Accounts and the doors, against a real server bound beyond loopback
//! (0.0.0.0, reached on 127.0.0.1): no data before the first account, every
//! door wants a session afterwards, viewers cannot administer, sign-out
//! and sessions are real, the sign-in rate limit holds, sessions survive a
//! restart, and the logs never hold a password or a token.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

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

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The server bound to every address, so it must not run open.
async fn exposed(data: tempfile::TempDir, tune: impl FnOnce(&mut vigil::Options)) -> TestServer {
    start_in(data, 200, |o| {
        o.bind = "0.0.0.0:0".parse().unwrap();
        tune(o);
    })
    .await
}

fn url(t: &TestServer, path: &str) -> String {
    format!("http://127.0.0.1:{}{}", t.server.addr.port(), path)
}

async fn get(t: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = client().get(url(t, path));
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.unwrap()
}

async fn post_json(t: &TestServer, path: &str, body: Value, cookie: Option<&str>) -> reqwest::Response {
    let mut req = client().post(url(t, path)).json(&body);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.unwrap()
}

/// A server function call (urlencoded form, as the page's forms send).
async fn call(t: &TestServer, path: &str, form: &[(&str, &str)], cookie: &str) -> (StatusCode, Value) {
    let res = client()
        .post(url(t, path))
        .header(COOKIE, cookie)
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
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
    let res = post_json(t, "/auth/login", json!({ "name": name, "password": password }), None).await;
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
        let res = get(t, api, cookie).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{api} {why}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].is_string(), "{api}: {body}");
    }
    let page = get(t, "/checks?q=x", cookie).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "pages redirect {why}");
    let to = page.headers()["location"].to_str().unwrap().to_string();
    assert!(to == "/setup" || to == "/login?next=/checks%3Fq%3Dx", "{to}");
    assert_eq!(
        get(t, "/metrics", cookie).await.status(),
        StatusCode::UNAUTHORIZED,
        "/metrics {why}"
    );
    let origin = format!("http://127.0.0.1:{}", t.server.addr.port());
    assert_eq!(open_ws(t, cookie, Some(&origin)).await.err(), Some(401), "/ws {why}");
    // /healthz stays open, with the status alone.
    let health: Value = get(t, "/healthz", cookie).await.json().await.unwrap();
    assert!(
        health["status"].is_string() && health.get("components").is_none(),
        "{health}"
    );
}

#[tokio::test]
async fn every_door_is_checked_and_sessions_are_real() {
    let logs = capture_logs();
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
    let setup = get(&t, "/setup", None).await;
    assert_eq!(setup.status(), StatusCode::OK);
    assert!(setup.text().await.unwrap().contains("data-testid=\"setup-required\""));
    let short = post_json(&t, "/auth/setup", json!({ "name": "root", "password": "short" }), None).await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert_refused_everywhere(&t, None, "after a refused setup").await;

    // The first account: an admin, signed in at once.
    let res = post_json(
        &t,
        "/auth/setup",
        json!({ "name": "root", "password": ADMIN_PASSWORD }),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let admin = session_cookie(&res);
    let again = post_json(
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
    assert_eq!(get(&t, "/setup", None).await.headers()["location"], "/login");

    // With the session every door opens.
    for path in [
        "/api/v1/snapshot",
        "/api/v1/series",
        "/api/v1/checks",
        "/metrics",
        "/",
        "/admin/users",
    ] {
        assert_eq!(get(&t, path, Some(&admin)).await.status(), StatusCode::OK, "{path}");
    }
    let full: Value = get(&t, "/healthz", Some(&admin)).await.json().await.unwrap();
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
        .get(url(&t, "/metrics"))
        .bearer_auth("scrape-token-51d0")
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    let wrong = client()
        .get(url(&t, "/metrics"))
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
    let (status, body) = call(
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
        get(&t, "/api/v1/snapshot", Some(&viewer)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get(&t, "/admin/users", Some(&viewer)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&t, "/api/v1/users", Some(&viewer)).await.status(),
        StatusCode::FORBIDDEN
    );
    let (status, _) = call(
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
    let (status, _) = call(&t, "/api/v1/users/remove", &[("name", "root")], &viewer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot remove accounts");
    let (status, _) = call(
        &t,
        "/api/v1/users/password",
        &[
            ("name", "root"),
            ("password", "taken-over-1"),
            ("confirm", "taken-over-1"),
        ],
        &viewer,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot set another's password");
    let (status, body) = call(&t, "/api/v1/users/remove", &[("name", "root")], &admin).await;
    assert_eq!(status, StatusCode::CONFLICT, "the last admin stays: {body}");

    // Signing out ends the session for every door, /ws included, and the
    // live socket it has open closes at once, saying why.
    let mut viewer_ws = open_ws(&t, Some(&viewer), Some(&origin))
        .await
        .expect("the viewer's session opens /ws");
    assert!(next_json(&mut viewer_ws).await["type"].is_string());
    let out = client()
        .post(url(&t, "/auth/logout"))
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

    // The sign-in rate limit: five attempts a minute per address, the
    // viewer's sign-in above included.
    for attempt in 2..=5 {
        let res = post_json(
            &t,
            "/auth/login",
            json!({ "name": "root", "password": format!("guess-{attempt}") }),
            None,
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let limited = post_json(
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
        .post(url(&t, "/auth/login"))
        .form(&[("name", "root"), ("password", ADMIN_PASSWORD), ("next", "/checks")])
        .send()
        .await
        .unwrap();
    let back = form.headers()["location"].to_str().unwrap();
    assert!(back.starts_with("/login?next=/checks&error=limited&wait="), "{back}");
    // Others are still served.
    assert_eq!(get(&t, "/api/v1/snapshot", Some(&admin)).await.status(), StatusCode::OK);

    // Sessions survive a restart; signed-out ones stay out.
    let data = stop(t).await;
    let t = exposed(data, tune).await;
    assert_eq!(get(&t, "/api/v1/snapshot", Some(&admin)).await.status(), StatusCode::OK);
    assert_eq!(
        get(&t, "/api/v1/snapshot", Some(&viewer)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    stop(t).await;

    // The logs tell what happened, but never a password or a token.
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("signed in"), "the capture works: {text}");
    assert!(text.contains("failed sign-in"));
    for secret in [
        ADMIN_PASSWORD,
        VIEWER_PASSWORD,
        "scrape-token-51d0",
        &admin[14..],
        &viewer[14..],
        "guess-1",
    ] {
        assert!(!text.contains(secret), "a secret in the logs: {secret}");
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
    let me: Value = get(&t, "/api/v1/me", None).await.json().await.unwrap();
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
        get(&t, "/api/v1/snapshot", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&t, "/metrics", None).await.status(), StatusCode::OK);
    let ops = sign_in(&t, "ops", ADMIN_PASSWORD).await;
    let me: Value = get(&t, "/api/v1/me", Some(&ops)).await.json().await.unwrap();
    assert_eq!(me, json!({ "name": "ops", "role": "admin" }));
    stop(t).await;

    // Behind a proxy (--trust-proxy) loopback is the proxy: never open.
    let t = start_with(200, |o| o.trust_proxy = true).await;
    assert_eq!(
        get(&t, "/api/v1/snapshot", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&t, "/", None).await.headers()["location"], "/setup");
    stop(t).await;

    // A configured admin without a password is a clear start error.
    let mut config = vigil::config::Config::default();
    config.auth.admin_user = Some("ops".into());
    let options = vigil::Options::new("127.0.0.1:0".parse().unwrap(), dir.path().join("other"), config);
    let err = vigil::Server::start(options).await.err().expect("refuses to start");
    assert!(err.to_string().contains("VIGIL_ADMIN_PASSWORD"), "{err}");
}
