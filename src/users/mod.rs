//! Accounts: one role, one organisation each.

pub mod model;
pub mod routes;
pub mod store;

pub use model::{Role, User};
