//! Detainee files: who was taken, from where, held where, and what is known,
//! owned by the documentation organisation that compiled the file.

pub mod custody;
pub mod export;
pub mod merge;
pub mod model;
pub mod routes;
pub mod scope;
pub mod store;

pub use model::{Detainee, DetaineeStatus, ReviewStatus};
