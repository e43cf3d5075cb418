//! `/healthz`, `/metrics`, the JSON API and the server-rendered page.

mod common;

use common::*;

#[tokio::test]
async fn healthz_reports_every_component() {
    let t = start(1000).await;
    let res = reqwest::get(t.http("/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "up", "{body}");
    let names: Vec<&str> = body["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["websocket hub", "collector", "memory", "storage"]);
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
    assert_eq!(health["components"].as_array().unwrap().len(), 4, "{health}");
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
