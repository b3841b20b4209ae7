//! The shared registry of places where people were held.

pub mod model;
pub mod routes;
pub mod store;

pub use model::{Facility, FacilityKind, FacilityStatus};
