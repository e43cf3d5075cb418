//! The one clock: Unix time, as every part stamps and compares it.

/// Unix time in milliseconds (the app's clock, the same function on the
/// server and in the browser).
pub use app::format::now_ms;

/// Unix time in whole seconds.
pub(crate) fn now_s() -> i64 {
    now_ms() / 1000
}
