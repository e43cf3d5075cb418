//! The built front end (`target/site`: WASM, JS, CSS, icons, the service
//! worker) and how it is served.
//!
//! By default the files are inside the binary: `build.rs` embeds the site
//! cargo-leptos built, with the brotli and gzip copies made at build time, a
//! content type and an ETag per file. They are served from memory with
//! `Accept-Encoding` negotiation, `If-None-Match` (304) and
//! `Cache-Control: no-cache`: the `/pkg/*` names do not change between
//! builds, so the browser must revalidate each time, which costs a 304 with
//! no body while the build is the same.
//!
//! `LEPTOS_SITE_ROOT` set in the environment (as `cargo leptos watch` does)
//! serves a directory from disk instead, so a rebuilt front end is picked up
//! without restarting.

use std::borrow::Cow;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

/// One embedded file and its precompressed copies.
#[derive(Debug)]
pub(crate) struct Embedded {
    pub(crate) content_type: &'static str,
    /// Hash of the file's bytes (hex), the base of its ETags.
    pub(crate) etag: &'static str,
    pub(crate) identity: &'static [u8],
    pub(crate) br: Option<&'static [u8]>,
    pub(crate) gz: Option<&'static [u8]>,
}

pub(crate) mod sw;

mod files {
    include!(concat!(env!("OUT_DIR"), "/site.rs"));
}

/// Where the front end is served from.
#[derive(Clone, Debug)]
pub(crate) enum Site {
    /// The files built into the binary (possibly none).
    Embedded(&'static [(&'static str, Embedded)]),
    /// A directory on disk, read on each request.
    Dir(PathBuf),
}

impl Site {
    /// The site for this process: `dir` (or `LEPTOS_SITE_ROOT` from the
    /// environment) when given, else the embedded files.
    pub(crate) fn resolve(dir: Option<PathBuf>) -> Site {
        match dir.or_else(|| std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from)) {
            Some(dir) => Site::Dir(dir),
            None => Site::Embedded(files::FILES),
        }
    }

    /// Whether there is a front end to hydrate the pages with.
    pub(crate) fn is_built(&self) -> bool {
        match self {
            Site::Embedded(files) => files.iter().any(|(path, _)| path.ends_with(".wasm")),
            Site::Dir(dir) => dir.join("pkg").is_dir(),
        }
    }

    /// Where the files come from, for the log.
    pub(crate) fn describe(&self) -> String {
        match self {
            Site::Embedded(files) => format!("embedded ({} files)", files.len()),
            Site::Dir(dir) => dir.display().to_string(),
        }
    }

    /// The service worker script, versioned by the build (see
    /// [`service_worker`]); `None` without a built site.
    pub(crate) fn service_worker(&self) -> Option<String> {
        match self {
            Site::Embedded(files) => find(files, "/sw.js").map(|f| String::from_utf8_lossy(f.identity).into_owned()),
            Site::Dir(dir) => service_worker(dir),
        }
    }

    /// Answers a request for a static file; `None` when there is no such
    /// file (the caller renders the 404 page).
    pub(crate) async fn serve(&self, request: Request) -> Option<Response> {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return None;
        }
        match self {
            Site::Embedded(files) => {
                let file = find(files, request.uri().path())?;
                Some(respond(file, request.method(), request.headers()))
            }
            Site::Dir(dir) => {
                let response = tower_http::services::ServeDir::new(dir)
                    .precompressed_br()
                    .precompressed_gzip()
                    .oneshot(request)
                    .await
                    .ok()?;
                (response.status() != StatusCode::NOT_FOUND).then(|| response.map(Body::new))
            }
        }
    }
}

/// The router's fallback: a static file of `site` when there is one, else
/// `page` (the app, which renders its "not found" page) with status 404
/// unless the page set another (a redirect, say).
pub(crate) fn files_or_not_found<P>(
    site: Arc<Site>,
    page: P,
) -> impl Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Clone + Send + Sync + 'static
where
    P: Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Clone + Send + Sync + 'static,
{
    move |request: Request| {
        let site = site.clone();
        let page = page.clone();
        Box::pin(async move {
            let path = request.uri().path();
            if path == "/api" || path.starts_with("/api/") {
                // The API answers JSON, even for a path it does not have.
                return app::error::ApiError::with_status(StatusCode::NOT_FOUND, "no such API endpoint")
                    .into_response();
            }
            let (parts, body) = request.into_parts();
            let probe = Request::from_parts(parts.clone(), Body::empty());
            if let Some(response) = site.serve(probe).await {
                return response;
            }
            let mut response = page(Request::from_parts(parts, body)).await;
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::NOT_FOUND;
            }
            response
        })
    }
}

fn find<'a>(files: &'a [(&'static str, Embedded)], path: &str) -> Option<&'a Embedded> {
    files
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .map(|i| &files[i].1)
}

/// A content coding the client accepts and we have a copy in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    fn suffix(self) -> &'static str {
        match self {
            Coding::Brotli => "-br",
            Coding::Gzip => "-gz",
            Coding::Identity => "",
        }
    }
}

/// Picks brotli, then gzip, when `Accept-Encoding` allows it (a `q=0`
/// refuses a coding) and the file has that copy.
fn negotiate(headers: &HeaderMap, file: &Embedded) -> Coding {
    let accepted = |name: &str| crate::coding::accepts(headers, name);
    if file.br.is_some() && accepted("br") {
        Coding::Brotli
    } else if file.gz.is_some() && accepted("gzip") {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak tags compare by
/// their opaque part, as RFC 9110 says for this header.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn respond(file: &Embedded, method: &Method, headers: &HeaderMap) -> Response {
    let coding = negotiate(headers, file);
    let etag = format!("\"{}{}\"", file.etag, coding.suffix());
    let body: &'static [u8] = match coding {
        Coding::Brotli => file.br.unwrap_or(file.identity),
        Coding::Gzip => file.gz.unwrap_or(file.identity),
        Coding::Identity => file.identity,
    };
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::VARY, "accept-encoding");
    if not_modified(headers, &etag) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_default();
    }
    builder = builder
        .header(header::CONTENT_TYPE, file.content_type)
        .header(header::CONTENT_LENGTH, body.len());
    if let Some(name) = match coding {
        Coding::Brotli => Some("br"),
        Coding::Gzip => Some("gzip"),
        Coding::Identity => None,
    } {
        builder = builder.header(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(Cow::Borrowed(body))
    };
    builder.body(body).unwrap_or_default()
}

/// The service worker (`sw.js` in the site root) filled in for the files
/// under `pkg/` (see [`sw::render`]). `None` without a site. The embedded
/// site's worker is filled in the same way by `build.rs`.
pub(crate) fn service_worker(root: &Path) -> Option<String> {
    let template = std::fs::read_to_string(root.join("sw.js")).ok()?;
    let mut pkg = Vec::new();
    for entry in std::fs::read_dir(root.join("pkg")).ok()? {
        let path = entry.ok()?.path();
        let name = path.file_name()?.to_string_lossy().into_owned();
        if path.is_file() && sw::is_served(&name) {
            pkg.push((name, std::fs::read(&path).ok()?));
        }
    }
    Some(sw::render(&template, &pkg))
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILES: &[(&str, Embedded)] = &[
        (
            "/pkg/app.js",
            Embedded {
                content_type: "text/javascript; charset=utf-8",
                etag: "00ff",
                identity: b"console.log('vigil')",
                br: Some(b"BR"),
                gz: Some(b"GZ"),
            },
        ),
        (
            "/pkg/plain.png",
            Embedded {
                content_type: "image/png",
                etag: "0a0b",
                identity: b"PNG",
                br: None,
                gz: None,
            },
        ),
    ];

    fn get(path: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    async fn fetch(path: &str, headers: &[(&str, &str)]) -> Option<(Response, Vec<u8>)> {
        let response = Site::Embedded(FILES).serve(get(path, headers)).await?;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap().to_vec();
        Some((Response::from_parts(parts, Body::empty()), bytes))
    }

    fn header(response: &Response, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn picks_the_best_accepted_copy() {
        let (r, body) = fetch("/pkg/app.js", &[("accept-encoding", "gzip, deflate, br")])
            .await
            .unwrap();
        assert_eq!(
            (header(&r, header::CONTENT_ENCODING), body.as_slice()),
            (Some("br"), &b"BR"[..])
        );
        assert_eq!(header(&r, header::ETAG), Some("\"00ff-br\""));
        assert_eq!(header(&r, header::VARY), Some("accept-encoding"));
        assert_eq!(header(&r, header::CACHE_CONTROL), Some("no-cache"));

        let (r, body) = fetch("/pkg/app.js", &[("accept-encoding", "gzip, br;q=0")])
            .await
            .unwrap();
        assert_eq!(
            (header(&r, header::CONTENT_ENCODING), body.as_slice()),
            (Some("gzip"), &b"GZ"[..])
        );

        let (r, body) = fetch("/pkg/app.js", &[]).await.unwrap();
        assert_eq!(header(&r, header::CONTENT_ENCODING), None);
        assert_eq!(body, b"console.log('vigil')");
        assert_eq!(header(&r, header::CONTENT_TYPE), Some("text/javascript; charset=utf-8"));
        assert_eq!(header(&r, header::ETAG), Some("\"00ff\""));

        let (r, body) = fetch("/pkg/plain.png", &[("accept-encoding", "br")]).await.unwrap();
        assert_eq!(
            (header(&r, header::CONTENT_ENCODING), body.as_slice()),
            (None, &b"PNG"[..])
        );
    }

    #[tokio::test]
    async fn a_matching_etag_is_not_modified() {
        let (r, body) = fetch(
            "/pkg/app.js",
            &[("accept-encoding", "br"), ("if-none-match", "\"old\", W/\"00ff-br\"")],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        // The same tag for another coding is another representation.
        let (r, _) = fetch("/pkg/app.js", &[("if-none-match", "\"00ff-br\"")]).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_paths_and_other_methods_are_left_to_the_caller() {
        assert!(fetch("/pkg/missing.js", &[]).await.is_none());
        assert!(fetch("/pkg", &[]).await.is_none());
        let post = Request::builder()
            .method("POST")
            .uri("/pkg/app.js")
            .body(Body::empty())
            .unwrap();
        assert!(Site::Embedded(FILES).serve(post).await.is_none());
    }

    #[tokio::test]
    async fn a_directory_is_served_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/vigil.js"), "one").unwrap();
        let site = Site::Dir(dir.path().to_path_buf());
        assert!(site.is_built());
        let response = site.serve(get("/pkg/vigil.js", &[])).await.unwrap();
        assert_eq!(
            axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap(),
            "one"
        );
        std::fs::write(dir.path().join("pkg/vigil.js"), "two").unwrap();
        let response = site.serve(get("/pkg/vigil.js", &[])).await.unwrap();
        assert_eq!(
            axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap(),
            "two",
            "read on each request"
        );
        assert!(site.serve(get("/pkg/missing.js", &[])).await.is_none());
    }

    #[test]
    fn the_embedded_table_is_sorted_for_lookup() {
        assert!(files::FILES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(FILES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn the_service_worker_is_versioned_by_the_built_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(service_worker(dir.path()), None, "no site, no worker");
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(
            dir.path().join("sw.js"),
            "const VERSION = '__VIGIL_VERSION__';\nconst PRECACHE = ['/', '__VIGIL_PKG_FILES__'];",
        )
        .unwrap();
        std::fs::write(dir.path().join("pkg/vigil.wasm"), b"one").unwrap();
        std::fs::write(dir.path().join("pkg/split_x.wasm"), b"chunk").unwrap();
        let first = service_worker(dir.path()).unwrap();
        assert!(!first.contains("__VIGIL_VERSION__"), "{first}");
        assert!(
            first.contains("const PRECACHE = ['/', '/pkg/split_x.wasm', '/pkg/vigil.wasm'];"),
            "every built file, the split chunks too: {first}"
        );
        std::fs::write(dir.path().join("pkg/vigil.wasm.br"), b"compressed copy").unwrap();
        std::fs::write(dir.path().join("pkg/vigil.d.ts"), b"declarations").unwrap();
        assert_eq!(
            service_worker(dir.path()).unwrap(),
            first,
            "compressed copies and declarations do not count"
        );
        std::fs::write(dir.path().join("pkg/vigil.wasm"), b"two").unwrap();
        assert_ne!(service_worker(dir.path()).unwrap(), first, "a new build, a new version");
    }
}
