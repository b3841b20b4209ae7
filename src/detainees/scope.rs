//! Who sees which files (docs/api.md, "Who sees a file"), in one place.

use uuid::Uuid;

use super::model::Detainee;
use crate::auth::Caller;
use crate::users::Role;

/// The files a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileScope {
    /// A caseworker: their own organisation's files.
    Organization(Uuid),
    /// A reviewer: the files of the reviews they may act on (open reviews
    /// to claim, reviews they claimed, others' awaiting confirmation); the
    /// access ends when the review is decided, withdrawn or claimed by someone else.
    Reviewer { user: Uuid, organization: Uuid },
    /// An auditor: every file.
    All,
    /// Everyone else.
    Nothing,
}

impl FileScope {
    pub fn of(caller: &Caller) -> FileScope {
        match caller.user.role {
            Role::Caseworker => FileScope::Organization(caller.user.organization_id),
            Role::Reviewer => FileScope::Reviewer {
                user: caller.user.id,
                organization: caller.user.organization_id,
            },
            Role::Auditor => FileScope::All,
            Role::Admin | Role::FamilyRepresentative => FileScope::Nothing,
        }
    }
}

/// May this caller read the confidential source notes of `file`, shown to
/// them alone (never in a list)? The owning organisation's caseworkers,
/// auditors, and reviewers: a reviewer reaches a file only while it is in
/// their `FileScope` (a review they may act on), or in the answer to a
/// review step they took, even one that ends that access (confirm,
/// dispute). Family representatives only ever get the reduced view.
pub fn sees_source_notes(caller: &Caller, file: &Detainee) -> bool {
    match caller.user.role {
        Role::Caseworker => caller.user.organization_id == file.organization_id,
        Role::Auditor | Role::Reviewer => true,
        Role::Admin | Role::FamilyRepresentative => false,
    }
}
