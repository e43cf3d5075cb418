//! Embeds the built front end in the binary, so that `vigil` runs from
//! anywhere with nothing beside it.
//!
//! cargo-leptos builds the WASM, the CSS and the assets into the site
//! directory first and then the server, telling it where the site is in
//! `LEPTOS_SITE_ROOT`. This script writes `$OUT_DIR/site.rs`: one entry per
//! file with its content type, an ETag (a hash of its bytes) and, for the
//! kinds worth it, the brotli and gzip copies `cargo leptos build --release
//! --precompress` wrote beside it. Nothing is compressed here or at start.
//!
//! Without `LEPTOS_SITE_ROOT` (a plain `cargo test` or `cargo clippy`)
//! nothing is embedded: the server then renders pages without hydration and
//! says so in its log. A release build without `--precompress` is refused:
//! cargo-leptos then builds the server while the WASM is still being built,
//! so the site it would embed is incomplete.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

#[path = "src/http/site/sw.rs"]
mod sw;

/// Kinds served compressed; images are compressed already.
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "svg", "webmanifest", "json", "html", "txt"];

fn main() {
    println!("cargo:rerun-if-env-changed=LEPTOS_SITE_ROOT");
    println!("cargo:rerun-if-env-changed=LEPTOS_OUTPUT_NAME");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let code = match site_root() {
        Some(root) => {
            println!("cargo:rerun-if-changed={}", root.display());
            embed(&root)
        }
        None => empty(),
    };
    std::fs::write(out.join("site.rs"), code).expect("cannot write site.rs");
    order_idle_code();
}

/// Lays the functions an idle server runs side by side at the start of the
/// code segment (`idle-symbols.txt`, written by `scripts/idle-symbols.sh`).
/// The kernel maps 64 KB around every page of the binary it faults in, so
/// the idle server's thirteen hundred functions, scattered over the 23 MB
/// of code, kept about 9 MB of it resident; packed, they take about 1.5 MB
/// (BENCHMARKS.md, "Footprint"). Names the list does not find (a function
/// renamed or gone since the list was written) are skipped; the list only
/// moves code, it never changes what runs. Only where rustc links with its
/// own LLD by default (x86_64 Linux with glibc, Rust 1.90 and later), which
/// reads the list; GNU ld would refuse the flag.
fn order_idle_code() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("CARGO_CFG_TARGET_ARCH") != "x86_64"
        || !rustc_links_with_lld()
    {
        return;
    }
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let list = manifest.join("idle-symbols.txt");
    println!("cargo:rerun-if-changed={}", list.display());
    if !list.is_file() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// The site directory named by cargo-leptos (relative to the workspace root,
/// where it runs cargo), if any.
fn site_root() -> Option<PathBuf> {
    let root = PathBuf::from(std::env::var_os("LEPTOS_SITE_ROOT")?);
    if root.is_absolute() {
        return Some(root);
    }
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    Some(manifest.parent()?.join(root))
}

fn empty() -> String {
    "/// Files of the built site (none: built without cargo-leptos).\n\
     pub static FILES: &[(&str, super::Embedded)] = &[];\n"
        .to_string()
}

fn embed(root: &Path) -> String {
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let output = std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "vigil".into());
    let mut files = Vec::new();
    collect(root, root, &mut files);
    files.sort();
    let wasm = format!("pkg/{output}.wasm");
    if !files.iter().any(|(rel, _)| *rel == wasm) {
        if release {
            panic!(
                "{} has no {wasm}: build with `cargo leptos build --release --precompress` \
                 (without --precompress cargo-leptos builds the server before the site is ready)",
                root.display()
            );
        }
        println!(
            "cargo:warning=no {wasm} under {}: the binary embeds an incomplete site",
            root.display()
        );
    }
    let pkg: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter_map(|(rel, path)| Some((rel.strip_prefix("pkg/")?.to_string(), std::fs::read(path).ok()?)))
        .collect();
    let mut code =
        String::from("/// Files of the built site, by URL path.\npub static FILES: &[(&str, super::Embedded)] = &[\n");
    for (rel, path) in &files {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let identity = if rel == "sw.js" {
            // Its cache name and precache list follow the build.
            let text = sw::render(&String::from_utf8_lossy(&bytes), &pkg);
            let file = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("sw.js");
            std::fs::write(&file, text.as_bytes()).expect("cannot write sw.js");
            file
        } else {
            path.clone()
        };
        let body = std::fs::read(&identity).expect("cannot read the file just written");
        let (br, gz) = if rel != "sw.js" && COMPRESSIBLE.contains(&ext) {
            (copy(path, "br", &bytes, release), copy(path, "gz", &bytes, release))
        } else {
            (None, None)
        };
        writeln!(
            code,
            "    ({:?}, super::Embedded {{ content_type: {:?}, etag: {:?}, identity: include_bytes!({:?}), br: {}, gz: {} }}),",
            format!("/{rel}"),
            content_type(ext),
            format!("{:016x}", hash(&body)),
            identity.display().to_string(),
            include(br.as_deref()),
            include(gz.as_deref()),
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    code
}

/// Every file under `dir` as (path relative to `root`, full path), leaving
/// out compressed copies, temporary files and TypeScript declarations.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if !sw::is_served(name) {
            continue;
        }
        let rel = path.strip_prefix(root).expect("under root");
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        files.push((rel, path));
    }
}

/// The compressed copy of `path` cargo-leptos wrote (`X.br`, `X.gz`), when
/// it is at least as new as the file and smaller. Release builds need it.
fn copy(path: &Path, suffix: &str, original: &[u8], release: bool) -> Option<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    let copy = PathBuf::from(name);
    let fresh = match (std::fs::metadata(&copy), std::fs::metadata(path)) {
        (Ok(c), Ok(f)) => c.modified().ok() >= f.modified().ok(),
        _ => false,
    };
    if !fresh {
        if release {
            panic!(
                "{} has no up-to-date .{suffix} copy: build with `cargo leptos build --release --precompress`",
                path.display()
            );
        }
        return None;
    }
    let len = std::fs::metadata(&copy).map(|m| m.len()).unwrap_or(u64::MAX);
    (len < original.len() as u64).then_some(copy)
}

fn include(path: Option<&Path>) -> String {
    match path {
        Some(p) => format!("Some(include_bytes!({:?}))", p.display().to_string()),
        None => "None".into(),
    }
}

fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "wasm" => "application/wasm",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "html" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Whether the compiler is Rust 1.90 or later, whose default linker for
/// x86_64 Linux with glibc is LLD.
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut numbers = text.split_whitespace().nth(1).unwrap_or("").split('.');
    let major: u32 = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let minor: u32 = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    (major, minor) >= (1, 90)
}
