//! The release binary carries its front end: copied alone to an empty
//! directory and run there with no environment, it serves the pages, the
//! WASM (precompressed), the service worker and the icons from memory.
//!
//! Needs `target/release/vigil` from `cargo leptos build --release --split
//! --precompress` (`scripts/test.sh` builds it before the Rust tests).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The release binary, or a failure that says how to build it.
fn release_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let binary = target.join("release/vigil");
    assert!(
        binary.is_file(),
        "{} is missing: build it first with `cargo leptos build --release --split --precompress` \
         (scripts/test.sh does)",
        binary.display()
    );
    binary
}

/// A copy of the release binary running alone in a temp dir.
struct Alone {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Alone {
    // `Drop` kills and waits for the child.
    #[allow(clippy::zombie_processes)]
    fn start() -> Alone {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("vigil");
        std::fs::copy(release_binary(), &binary).unwrap();
        let mut cmd = Command::new(&binary);
        cmd.env_clear()
            .current_dir(dir.path())
            .args(["--bind", "127.0.0.1:0", "--data-dir", "data"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for name in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut log = String::new();
        let base = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("vigil exited before serving:\n{log}");
            };
            log.push_str(&line);
            log.push('\n');
            if let Some(at) = line.find("serving on http://") {
                let rest = &line[at + "serving on ".len()..];
                break rest.split_whitespace().next().unwrap_or_default().to_string();
            }
        };
        assert!(!log.contains("no built front end"), "{log}");
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Alone { child, base, _dir: dir }
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }
}

impl Drop for Alone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

#[tokio::test]
async fn the_copied_binary_serves_its_embedded_site() {
    let vigil = Alone::start();

    let page = vigil.get("/", &[]).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/pkg/vigil.js"), "the page loads the front end: {html}");

    let wasm = vigil.get("/pkg/vigil.wasm", &[("accept-encoding", "br")]).await;
    assert_eq!(wasm.status(), 200);
    assert_eq!(header(&wasm, "content-encoding").as_deref(), Some("br"));
    assert_eq!(header(&wasm, "content-type").as_deref(), Some("application/wasm"));
    assert_eq!(header(&wasm, "cache-control").as_deref(), Some("no-cache"));
    let etag = header(&wasm, "etag").expect("an ETag");
    let compressed = wasm.bytes().await.unwrap();
    let mut decoded = Vec::new();
    brotli::Decompressor::new(compressed.as_ref(), 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(&decoded[..4], b"\0asm", "a WebAssembly module");
    assert!(decoded.len() > compressed.len(), "smaller on the wire");

    let plain = vigil.get("/pkg/vigil.wasm", &[]).await;
    assert_eq!(header(&plain, "content-encoding"), None);
    assert_eq!(
        plain.bytes().await.unwrap().as_ref(),
        decoded.as_slice(),
        "same bytes either way"
    );

    let gz = vigil.get("/pkg/vigil.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&gz, "content-encoding").as_deref(), Some("gzip"));
    let mut js = String::new();
    flate2::read::GzDecoder::new(gz.bytes().await.unwrap().as_ref())
        .read_to_string(&mut js)
        .unwrap();
    assert!(js.contains("WebAssembly"), "the JS glue");

    let again = vigil
        .get(
            "/pkg/vigil.wasm",
            &[("accept-encoding", "br"), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());

    let sw = vigil.get("/sw.js", &[]).await;
    assert_eq!(sw.status(), 200);
    let script = sw.text().await.unwrap();
    assert!(!script.is_empty() && !script.contains("__VIGIL_VERSION__"), "{script}");

    let icon = vigil.get("/icons/icon-192.png", &[]).await;
    assert_eq!(icon.status(), 200);
    assert_eq!(header(&icon, "content-type").as_deref(), Some("image/png"));
    assert_eq!(&icon.bytes().await.unwrap()[..8], b"\x89PNG\r\n\x1a\n");

    // Listed as public: a file, not the app's 404 page rendered for anyone.
    let robots = vigil.get("/robots.txt", &[]).await;
    assert_eq!(robots.status(), 200);
    assert_eq!(
        header(&robots, "content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let rules = robots.text().await.unwrap();
    assert!(
        rules.contains("Allow: /status/") && rules.contains("Disallow: /"),
        "{rules}"
    );

    let missing = vigil.get("/pkg/nothing-here.js", &[]).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("<html"), "the app's 404 page");
}
