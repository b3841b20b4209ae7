//! Organisations: who owns files, who reviews them, who speaks for families.

pub mod model;
pub mod routes;
pub mod store;

pub use model::{Organization, OrganizationKind};
