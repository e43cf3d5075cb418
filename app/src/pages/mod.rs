//! One module per page.

mod explore;
mod overview;

pub use explore::Explore;
pub use overview::Overview;
