//! The metrics explorer (`/explore`): pick series and a time range, see
//! them on one chart, share the URL.
//!
//! - [`state`]: the [`View`] (series, span, zoom base) and its URL form;
//!   the URL is the only place the view lives.
//! - [`data`]: one range query per series (`query_columns`, a binary
//!   column answer), run side by side; summaries for the table, columns
//!   for the chart (an average line per series, and its min-max band
//!   where points are buckets of several samples).
//! - [`units`]: values and axis labels by unit.
//! - [`chart`]: uPlot's options as JSON; `uplot` (browser only): the
//!   bindings to uPlot's global class and the [`uplot::Chart`] handle.
//! - [`view`]: the page's parts: series picker, range bar, chart, summary.
//!
//! Data flow: URL query -> `use_query_map` -> `Memo<View>` -> a blocking
//! `Resource` (the view and a live-tail tick) -> [`data::load`]. The
//! server renders the controls and the summary rows from it; in the
//! browser an `Effect` draws the same load on the chart once uPlot's
//! script is there. Every change (a checkbox, a preset, a custom range, a
//! drag-zoom, "Reset zoom") navigates to the new view's URL, which
//! refetches. A view ending now refetches every few seconds, so the chart
//! moves with the clock.

pub mod chart;
pub mod data;
pub mod state;
pub mod units;
#[cfg(feature = "hydrate")]
pub mod uplot;
mod view;

#[cfg(feature = "hydrate")]
mod browser;

pub use state::{Preset, Span, View};
pub use view::Explorer;
