//! Remote write against a real Prometheus (names, labels, and a receiver
//! outage that loses nothing) and against a small fake receiver for what
//! a real one does not do on demand (a 503, a 400, credentials).

mod common;
mod engines;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::*;
use engines::{single_value, Prometheus};
use vigil::config::RemoteWriteConfig;
use vigil::remote_write::proto::{self, WriteRequest};

/// Pushes every second to `url`.
fn push_to(url: &str) -> RemoteWriteConfig {
    RemoteWriteConfig {
        url: url.to_string(),
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        buffer: Duration::from_secs(3600),
        max_samples_per_send: 500,
        bearer_token_file: None,
        basic_user: None,
        basic_password_file: None,
    }
}

/// Polls `check` every 200 ms for up to `secs`; panics with `what`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    secs: u64,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{what}: not within {secs} s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn vigil_metric(t: &TestServer, name: &str) -> f64 {
    scrape(t, name)
        .await
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_gets_every_series_and_an_outage_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut prom = Prometheus::start(dir.path()).await;
    let t = start_with(250, |o| {
        o.config.remote_write = Some(push_to(&prom.write_url()));
        o.config.host.name = Some("alpha".into());
    })
    .await;
    let begin = now_ms();

    // Named as /metrics names them, with job and instance.
    let memory = r#"vigil_memory_used_bytes{job="vigil",instance="alpha"}"#;
    eventually("memory in Prometheus", 15, || async {
        single_value(&prom.query(memory).await).filter(|v| *v > 0.0)
    })
    .await;
    let counters = prom.query(r#"{__name__=~"vigil_.*_total",instance="alpha"}"#).await;
    let names: HashSet<&str> = counters
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["metric"]["__name__"].as_str())
        .collect();
    assert!(names.contains("vigil_ws_frames_sent_total"), "{names:?}");
    assert!(names.iter().all(|n| !n.ends_with("_total_total")), "{names:?}");
    let metrics = reqwest::get(t.http("/metrics")).await.unwrap().text().await.unwrap();
    if metrics.contains("vigil_filesystem_size_bytes{") {
        let fs = prom
            .query(r#"vigil_filesystem_size_bytes{instance="alpha",mount!=""}"#)
            .await;
        assert!(!fs.as_array().unwrap().is_empty(), "filesystems carry mount: {fs}");
    }
    // The push's own figures go out too.
    eventually("remote-write figures in Prometheus", 10, || async {
        single_value(
            &prom
                .query(r#"vigil_remote_write_sent_samples_total{instance="alpha"}"#)
                .await,
        )
    })
    .await;

    // An outage of ~10 s while Vigil keeps collecting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    prom.stop().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(vigil_metric(&t, "vigil_remote_write_failed_sends_total").await >= 1.0);
    let backlog = vigil_metric(&t, "vigil_remote_write_queue_samples").await;
    assert!(backlog > 1000.0, "10 s of samples wait: {backlog}");
    prom.restart().await;
    let restarted = now_ms();

    // Drained oldest first: once a sample newer than the restart is in,
    // everything before it is too.
    eventually("the backlog sent", 40, || async {
        single_value(
            &prom
                .query(r#"timestamp(vigil_memory_used_bytes{instance="alpha"}) * 1000"#)
                .await,
        )
        .filter(|ts| *ts as i64 > restarted + 1500)
    })
    .await;
    // /metrics shows the figures of the latest sample: a tick behind.
    eventually("the queue drained", 5, || async {
        scrape(&t, "vigil_remote_write_queue_samples")
            .await
            .filter(|q| *q < backlog / 4.0)
    })
    .await;
    assert_eq!(vigil_metric(&t, "vigil_remote_write_dropped_samples_total").await, 0.0);

    // Same count as Vigil's own store over before, during and after.
    let (status, body) = get_json(
        &t,
        &format!(
            "/api/v1/query?series=memory_used_bytes&from={begin}&to={}&points=100000",
            restarted + 1000
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tier"], "raw", "{body}");
    let times: Vec<i64> = body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_i64().unwrap())
        .collect();
    assert!(times.len() > 40, "{} points", times.len());
    // Window edges between samples, so inclusive or not does not matter.
    let n = times.len();
    let from = (times[0] + times[1]) / 2;
    let to = (times[n - 2] + times[n - 1]) / 2;
    let expected = n - 2;
    let counted = single_value(
        &prom
            .query_at(
                &format!(
                    r#"count_over_time(vigil_memory_used_bytes{{instance="alpha"}}[{}ms])"#,
                    to - from
                ),
                to,
            )
            .await,
    )
    .expect("a count");
    assert_eq!(counted as usize, expected, "Prometheus vs Vigil's store, {from}..{to}");
    stop(t).await;
    prom.stop().await;
}

/// What the fake receiver saw and what it answers.
#[derive(Default)]
struct Fake {
    /// Statuses to answer, in order; 204 once empty.
    script: VecDeque<(u16, &'static str)>,
    got: Vec<(HeaderMap, WriteRequest, u16)>,
}

type Shared = Arc<Mutex<Fake>>;

async fn receive(State(fake): State<Shared>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let request = proto::decode(&body).expect("a valid snappy WriteRequest");
    let mut fake = fake.lock().unwrap();
    let (status, message) = fake.script.pop_front().unwrap_or((204, ""));
    fake.got.push((headers, request, status));
    (StatusCode::from_u16(status).unwrap(), message)
}

/// A receiver on 127.0.0.1:0; its write URL and what it saw.
async fn fake_receiver(script: &[(u16, &'static str)]) -> (String, Shared) {
    let fake: Shared = Arc::new(Mutex::new(Fake {
        script: script.iter().copied().collect(),
        got: Vec::new(),
    }));
    let router = axum::Router::new()
        .route("/api/v1/write", axum::routing::post(receive))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/api/v1/write"), fake)
}

/// (labels, timestamp) of every sample in a request.
fn keys(request: &WriteRequest) -> HashSet<(String, i64)> {
    request
        .timeseries
        .iter()
        .flat_map(|ts| {
            let labels = format!("{:?}", ts.labels);
            ts.samples.iter().map(move |s| (labels.clone(), s.timestamp))
        })
        .collect()
}

fn samples(request: &WriteRequest) -> usize {
    request.timeseries.iter().map(|ts| ts.samples.len()).sum()
}

#[tokio::test]
async fn a_503_is_retried_and_a_400_is_dropped_and_counted() {
    let (url, fake) = fake_receiver(&[(503, "busy"), (400, "out of order sample")]).await;
    let t = start_with(100, |o| {
        let mut rw = push_to(&url);
        rw.max_samples_per_send = 100_000;
        o.config.remote_write = Some(rw);
        o.config.host.name = Some("alpha".into());
    })
    .await;
    eventually("three requests", 15, || async {
        (fake.lock().unwrap().got.len() >= 3).then_some(())
    })
    .await;
    let (first, second, third) = {
        let fake = fake.lock().unwrap();
        (fake.got[0].1.clone(), fake.got[1].1.clone(), fake.got[2].1.clone())
    };
    // The 503'd samples were kept and went again, oldest first.
    assert!(keys(&first).is_subset(&keys(&second)));
    // The 400'd ones were dropped, not retried.
    assert!(keys(&second).is_disjoint(&keys(&third)));
    let dropped = samples(&second) as f64;
    eventually("the refusal counted", 5, || async {
        let d = scrape(&t, "vigil_remote_write_dropped_samples_total").await?;
        let f = scrape(&t, "vigil_remote_write_failed_sends_total").await?;
        let s = scrape(&t, "vigil_remote_write_sent_samples_total").await?;
        (d == dropped && f == 1.0 && s >= samples(&third) as f64).then_some(())
    })
    .await;
    stop(t).await;
}

#[tokio::test]
async fn requests_carry_the_protocol_headers_and_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "tok-123\n").unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "pw\n").unwrap();

    let (url, fake) = fake_receiver(&[]).await;
    let bearer = start_with(200, |o| {
        let mut rw = push_to(&url);
        rw.bearer_token_file = Some(token.clone());
        o.config.remote_write = Some(rw);
        o.config.host.name = Some("beta".into());
    })
    .await;
    let (basic_url, basic_fake) = fake_receiver(&[]).await;
    let basic = start_with(200, |o| {
        let mut rw = push_to(&basic_url);
        rw.basic_user = Some("user".into());
        rw.basic_password_file = Some(password.clone());
        o.config.remote_write = Some(rw);
    })
    .await;
    for f in [&fake, &basic_fake] {
        eventually("a request", 10, || async {
            (!f.lock().unwrap().got.is_empty()).then_some(())
        })
        .await;
    }
    let (headers, request, _) = fake.lock().unwrap().got[0].clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(header("content-encoding"), "snappy");
    assert_eq!(header("content-type"), "application/x-protobuf");
    assert_eq!(header("x-prometheus-remote-write-version"), "0.1.0");
    assert!(header("user-agent").starts_with("vigil/"), "{}", header("user-agent"));
    assert_eq!(header("authorization"), "Bearer tok-123");
    for ts in &request.timeseries {
        let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names[0], "__name__");
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted: {names:?}");
        assert!(ts.labels.iter().any(|l| l.name == "instance" && l.value == "beta"));
        assert!(ts.samples.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    }
    let auth = basic_fake.lock().unwrap().got[0].0.get("authorization").cloned();
    // base64("user:pw")
    assert_eq!(auth.unwrap().to_str().unwrap(), "Basic dXNlcjpwdw==");
    stop(bearer).await;
    stop(basic).await;
}

/// A receiver that accepts connections and reads what comes, but never
/// answers (a hung proxy, a stopped process holding its socket).
async fn silent_receiver() -> String {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                // Held open until the client gives up.
                std::future::pending::<()>().await;
            });
        }
    });
    format!("http://{addr}/api/v1/write")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_holds_up_neither_collection_nor_the_live_stream() {
    let url = silent_receiver().await;
    let t = start_with(100, |o| o.config.remote_write = Some(push_to(&url))).await;
    let mut ws = connect(&t.ws_url("")).await;
    assert_eq!(kind(&next_json(&mut ws).await), "snapshot");
    // Several send timeouts (2 s each) pass while the socket is watched.
    let started = std::time::Instant::now();
    let mut sample_times = Vec::new();
    while started.elapsed() < Duration::from_secs(7) {
        let frame = next_json(&mut ws).await;
        if kind(&frame) == "sample" {
            sample_times.push(frame["data"]["ts"].as_i64().expect("a sample has its time"));
        }
    }
    // A sample every 100 ms, with no gap a stalled push would make.
    assert!(sample_times.len() >= 55, "{} samples in 7 s", sample_times.len());
    let widest = sample_times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(widest < 1_000, "a {widest} ms gap between samples");
    // The store keeps writing meanwhile, and the failed sends are counted
    // and kept, not dropped.
    let now = now_ms();
    let (status, body) = get_json(
        &t,
        &format!(
            "/api/v1/query?series=cpu_usage_percent&from={}&to={now}&points=1000",
            now - 3_000
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["points"].as_array().unwrap().len() >= 15, "{body}");
    assert!(vigil_metric(&t, "vigil_remote_write_failed_sends_total").await >= 2.0);
    assert!(vigil_metric(&t, "vigil_remote_write_queue_samples").await > 0.0);
    tokio::time::timeout(Duration::from_secs(15), stop(t))
        .await
        .expect("stops within 15 s with a send still hanging");
}
