//! Who acted and from where, as the audit log and the access log record it.
//!
//! These are the log's own small types, so that `audit` depends on nothing
//! above it: the HTTP layer turns a request into an [`Origin`], the account
//! layer turns a user into an [`Actor`] or an [`Account`].

use uuid::Uuid;

/// Who did it. `None` members for the system itself or an unknown caller
/// (a failed login with a name that matches no account).
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub username: Option<String>,
    pub role: Option<&'static str>,
}

impl Actor {
    pub fn system() -> Self {
        Actor {
            id: None,
            username: Some("system".to_owned()),
            role: None,
        }
    }
}

/// A signed-in account: every read in the access log has one.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: Uuid,
    pub username: String,
    pub role: &'static str,
}

impl From<Account> for Actor {
    fn from(account: Account) -> Self {
        Actor {
            id: Some(account.id),
            username: Some(account.username),
            role: Some(account.role),
        }
    }
}

/// Where a change or a read came from: the request id (returned to the
/// caller as `X-Request-Id` and written into the server's log) and the
/// client's address.
#[derive(Debug, Clone)]
pub struct Origin {
    pub request_id: String,
    pub client_ip: Option<String>,
}

impl Origin {
    /// For work started outside HTTP (the CLI, start-up).
    pub fn system(label: &str) -> Self {
        Origin {
            request_id: format!("{label}-{}", Uuid::now_v7()),
            client_ip: None,
        }
    }
}
