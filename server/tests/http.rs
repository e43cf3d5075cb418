//! `/healthz`, `/metrics`, the JSON API and the server-rendered page.

mod common;

use common::*;

#[tokio::test]
async fn healthz_reports_every_component() {
    let t = start(1000).await;
    let res = reqwest::get(t.http("/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    // What the test controls: the live hub is up; memory and storage are
    // this host's own business.
    assert_eq!(component_status(&body, "websocket hub"), "up", "{body}");
    assert!(["up", "degraded", "down"].contains(&body["status"].as_str().unwrap()));
    let names: Vec<&str> = body["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["websocket hub", "collector", "memory", "storage", "store"]);
    for c in body["components"].as_array().unwrap() {
        assert!(["up", "degraded", "down", "unknown"].contains(&c["status"].as_str().unwrap()));
        assert!(!c["reason"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let t = start(1000).await;
    assert_eq!(reqwest::get(t.http("/healthz")).await.unwrap().status(), 200);
    let res = reqwest::get(t.http("/metrics")).await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    for needle in [
        "# TYPE vigil_memory_total_bytes gauge",
        "vigil_cpu_usage_percent ",
        "vigil_load_average{period=\"1m\"}",
        "vigil_network_receive_bytes_per_second{interface=\"lo\"}",
        "# TYPE vigil_ws_frames_sent counter",
        "vigil_health_status{component=\"memory\",status=",
        "vigil_host_info{os=",
        "vigil_host_boot_time_seconds ",
        "# TYPE vigil_http_request_duration_seconds histogram",
        "vigil_http_request_duration_seconds_count{route=\"/healthz\"} 1",
        "# EOF",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // A catalog metric without values (the push is off) is left out whole.
    assert!(!text.contains("vigil_remote_write_"), "{text}");
}

#[tokio::test]
async fn the_api_serves_snapshot_and_health_as_json() {
    let t = start(1000).await;
    let snap: serde_json::Value = reqwest::get(t.http("/api/v1/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(snap["current"]["memory"]["total"].as_u64().unwrap() > 0, "{snap}");
    assert!(snap["seq"].as_u64().unwrap() > 0);
    let health: serde_json::Value = reqwest::get(t.http("/api/v1/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["components"].as_array().unwrap().len(), 5, "{health}");
}

#[tokio::test]
async fn the_api_lists_every_series_from_the_catalog() {
    let t = start(1000).await;
    let res = reqwest::get(t.http("/api/v1/series")).await.unwrap();
    assert_eq!(res.status(), 200);
    let series: Vec<serde_json::Value> = res.json().await.unwrap();
    let find = |name: &str| series.iter().find(|s| s["name"] == name);
    let mem = find("memory_used_bytes").expect("memory_used_bytes listed");
    assert_eq!(
        (mem["unit"].as_str(), mem["kind"].as_str()),
        (Some("bytes"), Some("gauge"))
    );
    assert!(find("load_average.1m").is_some());
    assert!(find("network_receive_bytes_per_second.lo").is_some());
    assert_eq!(find("ws_frames_sent_total").unwrap()["kind"], "counter");
    let fs = series
        .iter()
        .find(|s| s["metric"] == "filesystem_used_percent")
        .expect("a filesystem");
    assert!(fs["labels"]["mount"].as_str().unwrap().starts_with('/'));
    // Every listed series is also in /metrics, under the same metric name.
    let text = reqwest::get(t.http("/metrics")).await.unwrap().text().await.unwrap();
    for s in &series {
        let metric = s["metric"].as_str().unwrap().trim_end_matches("_total");
        assert!(
            text.contains(&format!("# TYPE vigil_{metric} ")),
            "{metric} not in /metrics"
        );
    }
}

#[tokio::test]
async fn errors_are_json_with_a_fitting_status() {
    let t = start(1000).await;
    let (status, body) = get_json(&t, "/api/v1/latest?series=memory_total_bytes").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["value"].as_f64().unwrap() > 0.0, "{body}");

    let (status, body) = get_json(&t, "/api/v1/latest?series=no_such_series").await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("unknown series"), "{body}");

    let (status, body) = get_json(&t, "/api/v1/latest").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("series"), "{body}");

    let res = reqwest::Client::new().delete(t.http("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().is_some(), "{body}");
}

#[tokio::test]
async fn the_first_paint_has_real_values() {
    let t = start(1000).await;
    let res = reqwest::get(t.http("/")).await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let cpu = text_of(&html, "cpu-total").expect("cpu-total rendered");
    assert!(
        cpu.ends_with('%') && cpu.trim_end_matches('%').parse::<f64>().is_ok(),
        "{cpu}"
    );
    let total = text_of(&html, "mem-total").expect("mem-total rendered");
    assert!(total.ends_with("iB") && !total.starts_with('0'), "{total}");
    assert!(html.contains(r#"data-state="connecting""#));
    assert!(html.contains(r#"data-testid="net-row""#));
    assert!(html.contains("/pkg/vigil.js"), "hydration script referenced");
}

/// Listing the pages renders the app with resource loading switched off
/// for the whole process: were the listing made again while another
/// server renders (the tests run many servers in one process), that
/// render's resources would never load and its response never come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_another_thread_lists_the_routes() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    let t = start(1000).await;
    let done = Arc::new(AtomicBool::new(false));
    let lister = std::thread::spawn({
        let done = done.clone();
        move || {
            // As a server starting on another test thread does: in a runtime.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _entered = runtime.enter();
            let mut lists = 0u32;
            while !done.load(Ordering::Relaxed) {
                assert!(!vigil::http::endpoints().is_empty());
                lists += 1;
            }
            lists
        }
    });
    let client = reqwest::Client::new();
    for i in 0..100 {
        let page = tokio::time::timeout(Duration::from_secs(10), async {
            let res = client.get(t.http("/")).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.text().await.unwrap()
        })
        .await;
        if page.is_err() {
            done.store(true, Ordering::Relaxed);
            panic!("page {i} never came while the routes were being listed");
        }
    }
    done.store(true, Ordering::Relaxed);
    assert!(lister.join().unwrap() > 0, "the lister ran alongside");
}

#[tokio::test]
async fn a_dropped_server_stops_serving() {
    let t = start(1000).await;
    let url = t.http("/healthz");
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    drop(t);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while client.get(&url).send().await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still serving 15 s after the drop"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn unknown_pages_are_404() {
    let t = start(1000).await;
    let res = reqwest::get(t.http("/no/such/page")).await.unwrap();
    assert_eq!(res.status(), 404);
}

/// The text inside the element with this `data-testid`.
fn text_of<'a>(html: &'a str, testid: &str) -> Option<&'a str> {
    let at = html.find(&format!(r#"data-testid="{testid}""#))?;
    let from = at + html[at..].find('>')? + 1;
    let len = html[from..].find('<')?;
    Some(&html[from..from + len])
}

#[tokio::test]
async fn checks_join_the_rollup_and_answer_by_name() {
    // A TCP check against a port this test holds open, and one nobody listens on.
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let addr = open.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = open.accept().await {
            drop(socket);
        }
    });
    let toml = format!(
        "[[checks]]\nname = \"db\"\ntype = \"tcp\"\naddress = \"{addr}\"\ninterval = \"1s\"\ntimeout = \"500ms\"\n\
         [[checks]]\nname = \"cache\"\ntype = \"tcp\"\naddress = \"{closed}\"\ninterval = \"1s\"\ntimeout = \"500ms\"\nretries = 0\nconfirm = 1\n"
    );
    let config = vigil::config::Config::parse(&toml, std::path::Path::new("test.toml")).unwrap();
    let t = start_with(1000, |o| o.config.checks = config.checks).await;
    let mut health = serde_json::Value::Null;
    for _ in 0..50 {
        health = get_json(&t, "/api/v1/health").await.1;
        if component_status(&health, "db") == "up" && component_status(&health, "cache") == "down" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(component_status(&health, "db"), "up", "{health}");
    assert_eq!(component_status(&health, "cache"), "down", "{health}");
    // /healthz speaks for Vigil itself: an outside service down is not Vigil down.
    let (_, own) = get_json(&t, "/healthz").await;
    assert!(
        own["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "cache"),
        "{own}"
    );

    let (status, detail) = get_json(&t, "/api/v1/checks/cache").await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["state"]["status"], "down", "{detail}");
    assert!(
        detail["state"]["reason"].as_str().unwrap().contains("refused"),
        "{detail}"
    );
    assert!(!detail["rounds"].as_array().unwrap().is_empty(), "{detail}");
    let (status, list) = get_json(&t, "/api/v1/checks").await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(2)));
    let (status, body) = get_json(&t, "/api/v1/checks/nope").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("unknown check"), "{body}");
}
