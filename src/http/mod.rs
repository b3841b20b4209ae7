//! HTTP plumbing shared by every resource: pagination, ETags, routing helpers.

pub mod client;
pub mod etag;
pub mod limits;
pub mod pagination;
pub mod routing;
pub mod streaming;

pub use etag::{IfMatch, Versioned};
pub use pagination::{Cursor, Page};
