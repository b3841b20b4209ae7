//! Independent review before release (docs/review-workflow.md).
//!
//! An organisation independent of the one that compiled a file reviews it;
//! for people accused of major crimes, families of victims are consulted and
//! a second independent organisation confirms a clearance. The rules live in
//! one transition table (`workflow`), so the fair path is the only path.

pub mod model;
pub mod routes;
pub mod scope;
pub mod store;
pub mod workflow;

pub use model::{Review, ReviewState};
