//! The seam between the web app and the server's engine. Server functions
//! run inside the axum server; they reach the collectors, hub and health
//! rollup through [`Engine`], which the `vigil` crate implements and provides
//! as Leptos context for every request. No globals.

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use leptos::prelude::*;

    use crate::health::HealthReport;
    use crate::metrics::Snapshot;

    /// What the server-side engine answers for the app.
    pub trait Engine: Send + Sync + 'static {
        /// The current sample, recent history and the live stream position.
        fn snapshot(&self) -> Snapshot;
        /// The current health rollup.
        fn health(&self) -> HealthReport;
    }

    /// The engine as Leptos context.
    pub type SharedEngine = Arc<dyn Engine>;

    /// The engine provided for this request. A missing engine is a wiring bug:
    /// it is logged and the client gets a generic error.
    pub fn use_engine() -> Result<SharedEngine, ServerFnError> {
        use_context::<SharedEngine>().ok_or_else(|| {
            leptos::logging::error!("server function called without an Engine in context");
            ServerFnError::new("the server is not ready")
        })
    }
}
