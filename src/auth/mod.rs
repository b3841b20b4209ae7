//! Authentication and authorisation: passwords, tokens, sessions, login
//! throttling, the permission matrix and the extractor that hands handlers an
//! authenticated, authorised caller.

pub mod caller;
pub mod login;
pub mod mfa;
pub mod password;
pub mod permissions;
pub mod routes;
pub mod store;
pub mod throttle;
pub mod tokens;

pub use caller::{Authorized, Caller};
pub use permissions::{can, Action};
