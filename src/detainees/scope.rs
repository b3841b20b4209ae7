//! Who sees which files (DESIGN.md "Who sees a file"), in one place.

use uuid::Uuid;

use super::model::Detainee;
use crate::auth::Caller;
use crate::users::Role;

/// The files a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileScope {
    /// A caseworker: their own organisation's files.
    Organization(Uuid),
    /// An auditor: every file.
    All,
    /// Everyone else (reviewers see files only through the reviews they may
    /// act on, which the review workflow adds).
    Nothing,
}

impl FileScope {
    pub fn of(caller: &Caller) -> FileScope {
        match caller.user.role {
            Role::Caseworker => FileScope::Organization(caller.user.organization_id),
            Role::Auditor => FileScope::All,
            Role::Admin | Role::Reviewer | Role::FamilyRepresentative => FileScope::Nothing,
        }
    }

    pub fn includes(&self, file: &Detainee) -> bool {
        match self {
            FileScope::Organization(org) => file.organization_id == *org,
            FileScope::All => true,
            FileScope::Nothing => false,
        }
    }
}

/// May this caller read the confidential source notes of `file`? Only the
/// owning organisation's caseworkers and auditors.
pub fn sees_source_notes(caller: &Caller, file: &Detainee) -> bool {
    match caller.user.role {
        Role::Caseworker => caller.user.organization_id == file.organization_id,
        Role::Auditor => true,
        _ => false,
    }
}
