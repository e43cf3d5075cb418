//! Many hosts against a real Prometheus (Debian's, started by the test):
//! two Vigils push their series by remote write, a third with `[fleet]`
//! lists all of them at `/api/v1/hosts` and answers another host's queries
//! from the engine; bad host arguments get their clear errors.

mod common;
mod engines;

use std::time::Duration;

use common::{get_json, now_ms, start_with, stop, TestServer};
use serde_json::Value;
use vigil::config::{AlertConfig, FleetConfig, RemoteWriteConfig};

const INTERVAL_MS: u64 = 250;

fn remote_write(url: String) -> RemoteWriteConfig {
    let mut rw: RemoteWriteConfig = toml::from_str(&format!("url = {url:?}\ninterval = \"1s\"")).unwrap();
    rw.timeout = Duration::from_secs(5);
    rw
}

fn fleet(url: String) -> FleetConfig {
    fleet_stale_after(url, "30s")
}

fn fleet_stale_after(url: String, stale_after: &str) -> FleetConfig {
    toml::from_str(&format!("prometheus = {url:?}\nstale_after = {stale_after:?}")).unwrap()
}

async fn pusher(name: &str, write_url: String) -> TestServer {
    let name = name.to_string();
    start_with(INTERVAL_MS, move |o| {
        o.config.host.name = Some(name);
        o.config.remote_write = Some(remote_write(write_url));
    })
    .await
}

/// The pending and firing alerts.
async fn alerts_now(t: &TestServer) -> Vec<Value> {
    let (status, body) = get_json(t, "/api/v1/alerts").await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] != "resolved")
        .cloned()
        .collect()
}

fn alert<'a>(all: &'a [Value], name: &str, instance: &str) -> Option<&'a Value> {
    all.iter().find(|a| a["name"] == name && a["instance"] == instance)
}

/// Polls the alerts until `done` (at most 30 s).
async fn alerts_until(t: &TestServer, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let all = alerts_now(t).await;
        if done(&all) {
            return all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 30 s: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn host<'a>(hosts: &'a Value, name: &str) -> Option<&'a Value> {
    hosts.as_array()?.iter().find(|h| h["name"] == name)
}

/// Polls `/api/v1/hosts` until `names` are all there with figures.
async fn hosts_with(t: &TestServer, names: &[&str]) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let (status, hosts) = get_json(t, "/api/v1/hosts").await;
        let ready = status == 200
            && names
                .iter()
                .all(|n| host(&hosts, n).is_some_and(|h| h["memory_percent"].is_number()));
        if ready {
            return hosts;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "hosts {names:?} not listed within 40 s: {status} {hosts}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fleet_vigil_lists_every_pushing_host_and_reads_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut prom = engines::Prometheus::start(dir.path()).await;
    let alpha = pusher("alpha", prom.write_url()).await;
    let beta = pusher("beta", prom.write_url()).await;
    let url = prom.url();
    let watcher = start_with(INTERVAL_MS, move |o| {
        o.config.host.name = Some("gamma".into());
        o.config.fleet = Some(fleet(url));
    })
    .await;

    // Both pushers and the watcher itself, sorted by name, with figures.
    let hosts = hosts_with(&watcher, &["alpha", "beta", "gamma"]).await;
    let names: Vec<&str> = hosts
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta", "gamma"], "{hosts}");
    for name in ["alpha", "beta"] {
        let h = host(&hosts, name).unwrap();
        assert_eq!(h["local"], false);
        let seen = h["last_seen"].as_i64().expect("last_seen in ms");
        assert!(now_ms() - seen < 20_000, "{name} seen {} ms ago", now_ms() - seen);
        let cpu = h["cpu_percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&cpu), "{h}");
        assert!(h["memory_percent"].as_f64().unwrap() > 0.0, "{h}");
        assert!(
            h["disk"]["percent"].as_f64().is_some() && h["disk"]["mount"].is_string(),
            "{h}"
        );
        assert!(
            ["up", "degraded", "down"].contains(&h["status"].as_str().unwrap()),
            "{h}"
        );
    }
    assert_eq!(host(&hosts, "gamma").unwrap()["local"], true);

    // beta's series, listed and queried through the watcher from the engine.
    let (status, series) = get_json(&watcher, "/api/v1/series?host=beta").await;
    assert_eq!(status, 200, "{series}");
    let names: Vec<&str> = series
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"memory_used_bytes"), "{names:?}");
    assert!(names.contains(&"filesystem_used_percent.root"), "{names:?}");
    let to = now_ms();
    let from = to - 60_000;
    let (status, range) = get_json(
        &watcher,
        &format!("/api/v1/query?series=memory_used_bytes&host=beta&from={from}&to={to}&points=60"),
    )
    .await;
    assert_eq!(status, 200, "{range}");
    assert_eq!(range["tier"], "engine");
    let points = range["points"].as_array().unwrap();
    assert!(!points.is_empty(), "{range}");
    // Within a few percent of what beta holds itself (memory moves a little).
    let (_, own) = get_json(&beta, "/api/v1/latest?series=memory_used_bytes").await;
    let own = own["value"].as_f64().unwrap();
    let last = points.last().unwrap().as_array().unwrap();
    let engine_value = last[last.len() - 1].as_f64().unwrap();
    assert!(
        (engine_value - own).abs() / own < 0.05,
        "engine {engine_value} vs beta's own {own}"
    );
    let (status, latest) = get_json(&watcher, "/api/v1/latest?series=memory_used_bytes&host=alpha").await;
    assert_eq!(status, 200, "{latest}");
    assert!(latest["value"].as_f64().unwrap() > 0.0);
    // The watcher's own host still reads its own store.
    let (status, own_range) = get_json(
        &watcher,
        &format!(
            "/api/v1/query?series=memory_used_bytes&host=gamma&from={from}&to={}&points=60",
            now_ms()
        ),
    )
    .await;
    assert_eq!(status, 200, "{own_range}");
    assert_ne!(own_range["tier"], "engine");

    // Bad host arguments: clear errors, nothing else disturbed.
    let (status, body) = get_json(
        &watcher,
        &format!("/api/v1/query?series=memory_used_bytes&host=nobody&from={from}&to={to}&points=60"),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("unknown host \"nobody\""),
        "{body}"
    );
    // An argument the API does not take is ignored, as query APIs do.
    let (status, body) = get_json(&watcher, "/api/v1/series?host=beta&x=1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, series, "the same answer as without it");
    let long = "h".repeat(300);
    let (status, body) = get_json(&watcher, &format!("/api/v1/series?host={long}")).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get_json(
        &watcher,
        &format!("/api/v1/query?series=no_such_series&host=beta&from={from}&to={to}&points=60"),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    // A Vigil without [fleet] knows only itself.
    let (status, body) = get_json(&alpha, "/api/v1/series?host=beta").await;
    assert_eq!(status, 404, "{body}");
    let (status, hosts) = get_json(&alpha, "/api/v1/hosts").await;
    assert_eq!(status, 200);
    assert_eq!(hosts.as_array().unwrap().len(), 1, "{hosts}");
    assert_eq!(hosts[0]["name"], "alpha");

    // The engine gone: the list says so (503, JSON), and comes back with it.
    prom.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await; // past the list's cache
    let (status, body) = get_json(&watcher, "/api/v1/hosts").await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("engine"), "{body}");
    prom.restart().await;
    hosts_with(&watcher, &["alpha", "beta"]).await;

    for t in [watcher, alpha, beta] {
        stop(t).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn victoria_metrics_serves_the_fleet_and_a_silent_host_goes_stale() {
    let dir = tempfile::tempdir().unwrap();
    let mut vm = engines::VictoriaMetrics::start(dir.path()).await;
    let alpha = pusher("alpha", vm.write_url()).await;
    let beta = pusher("beta", vm.write_url()).await;
    let url = vm.url();
    let watcher = start_with(INTERVAL_MS, move |o| {
        o.config.host.name = Some("gamma".into());
        o.config.fleet = Some(fleet_stale_after(url, "4s"));
        // One Vigil alerts for the fleet: a PromQL rule over every host.
        o.config.alerts = vec![AlertConfig {
            name: "fleet-memory".into(),
            promql: Some(r#"vigil_memory_used_percent{job="vigil"} > 0"#.into()),
            ..Default::default()
        }];
        o.config.alerting.fleet_every = Duration::from_secs(1);
    })
    .await;

    let hosts = hosts_with(&watcher, &["alpha", "beta", "gamma"]).await;
    for name in ["alpha", "beta"] {
        let h = host(&hosts, name).unwrap();
        assert!(h["cpu_percent"].is_number() && h["disk"]["mount"].is_string(), "{h}");
        assert!(now_ms() - h["last_seen"].as_i64().unwrap() < 20_000, "{h}");
        assert_ne!(h["status"], "unknown", "{h}");
    }
    // Both pushing hosts fire the fleet rule, named by their instance.
    alerts_until(&watcher, "the fleet rule fires for alpha and beta", |all| {
        ["alpha", "beta"]
            .iter()
            .all(|h| alert(all, "fleet-memory", h).is_some_and(|a| a["state"] == "firing"))
    })
    .await;
    let (status, series) = get_json(&watcher, "/api/v1/series?host=beta").await;
    assert_eq!(status, 200, "{series}");
    assert!(series
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "memory_used_bytes"));
    let to = now_ms();
    let (status, range) = get_json(
        &watcher,
        &format!(
            "/api/v1/query?series=memory_used_bytes&host=beta&from={}&to={to}&points=30",
            to - 60_000
        ),
    )
    .await;
    assert_eq!(status, 200, "{range}");
    assert!(!range["points"].as_array().unwrap().is_empty(), "{range}");

    // beta stops pushing: past stale_after it is listed as unknown, saying
    // since when; alpha, still pushing, is not.
    let beta_data = stop(beta).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let hosts = loop {
        let (status, hosts) = get_json(&watcher, "/api/v1/hosts").await;
        assert_eq!(status, 200, "{hosts}");
        if host(&hosts, "beta").is_some_and(|b| b["status"] == "unknown") {
            break hosts;
        }
        assert!(tokio::time::Instant::now() < deadline, "beta never went stale: {hosts}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let b = host(&hosts, "beta").unwrap();
    assert!(b["reason"].as_str().unwrap().starts_with("no sample for"), "{b}");
    assert_ne!(host(&hosts, "alpha").unwrap()["status"], "unknown", "{hosts}");
    drop(beta_data);
    // Its silence fires; its own alert stays firing but muted; alpha's
    // is neither.
    let all = alerts_until(&watcher, "beta's silence fires", |all| {
        alert(all, "host-silent", "beta").is_some_and(|a| a["state"] == "firing")
    })
    .await;
    let silence = alert(&all, "host-silent", "beta").unwrap();
    assert!(
        silence["message"]
            .as_str()
            .unwrap()
            .starts_with("host beta is silent: no sample for"),
        "{silence}"
    );
    let all = alerts_until(&watcher, "beta's own alert muted", |all| {
        alert(all, "fleet-memory", "beta").is_some_and(|a| a["silenced"] == true)
    })
    .await;
    let held = alert(&all, "fleet-memory", "beta").unwrap();
    assert_eq!(
        (held["state"].as_str(), held["muted_by"].as_str()),
        (Some("firing"), Some("host beta is silent"))
    );
    let alpha_memory = alert(&all, "fleet-memory", "alpha").unwrap();
    assert_eq!(
        (alpha_memory["state"].as_str(), alpha_memory["silenced"].as_bool()),
        (Some("firing"), Some(false))
    );
    assert!(alert(&all, "host-silent", "alpha").is_none(), "{all:?}");

    // The engine gone: the list says so (503, JSON), and comes back with it.
    vm.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await; // past the list's cache
    let (status, body) = get_json(&watcher, "/api/v1/hosts").await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("engine"), "{body}");
    // An engine outage resolves nothing.
    let all = alerts_now(&watcher).await;
    assert_eq!(
        alert(&all, "fleet-memory", "alpha").map(|a| a["state"].clone()),
        Some("firing".into()),
        "{all:?}"
    );
    vm.restart().await;
    hosts_with(&watcher, &["alpha", "gamma"]).await;

    for t in [watcher, alpha] {
        stop(t).await;
    }
}
