//! Sets `cfg(wasm_split)` when this WASM build will be split into lazily
//! loaded chunks (`cargo leptos build --split`), so the lazy routes are
//! compiled as split points only then. cargo-leptos splits by relinking,
//! and asks the linker for relocations (`-Clink-args=--emit-relocs`) in
//! exactly those builds; a split point in a module that is not split
//! would import a loader that does not exist.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wasm_split)");
    println!("cargo::rerun-if-changed=build.rs");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if wasm && flags.split('\x1f').any(|flag| flag.contains("--emit-relocs")) {
        println!("cargo::rustc-cfg=wasm_split");
    }
}
