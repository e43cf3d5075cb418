//! Host metrics: the sample types, the snapshot server function and the
//! overview cards that draw them.

mod types;
mod view;

pub use types::*;
pub use view::{Dashboard, Sparkline};

use leptos::prelude::*;

/// The current sample, recent history and the live stream position. Used
/// for the server render, and served as `GET /api/v1/snapshot`.
#[server(prefix = "/api/v1", endpoint = "snapshot", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_snapshot() -> Result<Snapshot, ServerFnError> {
    Ok(crate::engine::use_engine()?.snapshot())
}
