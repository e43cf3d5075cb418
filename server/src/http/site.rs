//! The built front end (`target/site`: WASM, JS, CSS, icons): where to find
//! it without any environment, and precompressed copies for the browser.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the site files are: `LEPTOS_SITE_ROOT` when set (cargo-leptos sets
/// it), else `target/site` under the working directory, else `../site` next
/// to the executable (`target/release/vigil` -> `target/site`).
pub fn find_root() -> PathBuf {
    if let Some(root) = std::env::var_os("LEPTOS_SITE_ROOT") {
        return PathBuf::from(root);
    }
    let cwd = PathBuf::from("target/site");
    if cwd.is_dir() {
        return cwd;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("../site")))
        .filter(|p| p.is_dir())
        .unwrap_or(cwd)
}

/// The service worker (`sw.js` in the site root) with `__VIGIL_VERSION__`
/// replaced by a hash of the built files under `pkg/`, so every build gets
/// its own cache and a deploy replaces the old one. `None` without a site.
pub fn service_worker(root: &Path) -> Option<String> {
    use std::hash::{Hash, Hasher};
    let template = std::fs::read_to_string(root.join("sw.js")).ok()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("pkg"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or_default();
            !matches!(ext, "br" | "gz" | "tmp")
        })
        .collect();
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in files {
        file.file_name().hash(&mut hasher);
        std::fs::read(&file).ok()?.hash(&mut hasher);
    }
    Some(template.replace("__VIGIL_VERSION__", &format!("{:016x}", hasher.finish())))
}

/// File kinds worth compressing.
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "svg", "webmanifest", "json", "html"];

/// Writes `.br` and `.gz` beside every compressible file under `root` that
/// lacks an up-to-date copy; the static file service then serves those to
/// browsers that accept them. Returns how many files were compressed.
pub fn precompress(root: &Path) -> std::io::Result<usize> {
    let mut done = 0;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
            if !COMPRESSIBLE.contains(&ext) {
                continue;
            }
            let data = std::fs::read(&path)?;
            let modified = std::fs::metadata(&path)?.modified()?;
            let br = with_suffix(&path, "br");
            if is_stale(&br, modified) {
                write_atomic(&br, &brotli_bytes(&data)?)?;
                done += 1;
            }
            let gz = with_suffix(&path, "gz");
            if is_stale(&gz, modified) {
                write_atomic(&gz, &gzip_bytes(&data)?)?;
            }
        }
    }
    Ok(done)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

fn is_stale(copy: &Path, source_modified: std::time::SystemTime) -> bool {
    std::fs::metadata(copy)
        .and_then(|m| m.modified())
        .map_or(true, |m| m < source_modified)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = with_suffix(path, "tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

fn brotli_bytes(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        w.write_all(data)?;
    }
    Ok(out)
}

fn gzip_bytes(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    w.write_all(data)?;
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_service_worker_is_versioned_by_the_built_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(service_worker(dir.path()), None, "no site, no worker");
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("sw.js"), "const VERSION = '__VIGIL_VERSION__';").unwrap();
        std::fs::write(dir.path().join("pkg/vigil.wasm"), b"one").unwrap();
        let first = service_worker(dir.path()).unwrap();
        assert!(!first.contains("__VIGIL_VERSION__"), "{first}");
        std::fs::write(dir.path().join("pkg/vigil.wasm.br"), b"compressed copy").unwrap();
        assert_eq!(
            service_worker(dir.path()).unwrap(),
            first,
            "compressed copies do not count"
        );
        std::fs::write(dir.path().join("pkg/vigil.wasm"), b"two").unwrap();
        assert_ne!(service_worker(dir.path()).unwrap(), first, "a new build, a new version");
    }

    #[test]
    fn precompresses_once_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let js = dir.path().join("pkg/app.js");
        std::fs::create_dir_all(js.parent().unwrap()).unwrap();
        let body = "console.log('vigil');\n".repeat(200);
        std::fs::write(&js, &body).unwrap();
        std::fs::write(dir.path().join("logo.png"), [0u8; 10]).unwrap();

        assert_eq!(precompress(dir.path()).unwrap(), 1);
        assert_eq!(precompress(dir.path()).unwrap(), 0, "up-to-date copies are kept");
        assert!(!dir.path().join("logo.png.br").exists());

        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(with_suffix(&js, "gz")).unwrap())
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, body);
        let mut unbr = String::new();
        brotli::Decompressor::new(std::fs::File::open(with_suffix(&js, "br")).unwrap(), 4096)
            .read_to_string(&mut unbr)
            .unwrap();
        assert_eq!(unbr, body);
    }
}
