//! The service worker for one build: `public/sw.js` with its placeholders
//! filled in. Shared by `build.rs` (the embedded site) and the server (a
//! site directory), so both give the same script; std only for that reason.

use std::hash::{Hash, Hasher};

/// Replaced by a hash of the built files under `pkg/`: each build gets its
/// own cache, and a deploy replaces the old one.
pub(crate) const VERSION: &str = "__VIGIL_VERSION__";
/// Replaced (with its quotes) by the quoted URLs of every built file under
/// `pkg/`, so the worker precaches the lazily loaded `--split` chunks too,
/// whose names change with the code.
pub(crate) const PKG_FILES: &str = "'__VIGIL_PKG_FILES__'";

/// Whether a file under `pkg/` is part of the build the browser loads
/// (compressed copies, temporary files and TypeScript declarations are not).
pub(crate) fn is_served(name: &str) -> bool {
    ![".br", ".gz", ".tmp", ".d.ts"].iter().any(|s| name.ends_with(s))
}

/// Fills `template` from the built files under `pkg/`, given as (file
/// name, contents); their order does not matter.
pub(crate) fn render(template: &str, pkg: &[(String, Vec<u8>)]) -> String {
    let mut files: Vec<&(String, Vec<u8>)> = pkg.iter().filter(|(name, _)| is_served(name)).collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (name, bytes) in &files {
        name.hash(&mut hasher);
        bytes.hash(&mut hasher);
    }
    let urls = files
        .iter()
        .map(|(name, _)| format!("'/pkg/{name}'"))
        .collect::<Vec<_>>()
        .join(", ");
    template
        .replace(VERSION, &format!("{:016x}", hasher.finish()))
        .replace(PKG_FILES, &urls)
}
