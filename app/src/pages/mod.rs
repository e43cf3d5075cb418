//! One module per page.

mod overview;

pub use overview::Overview;
