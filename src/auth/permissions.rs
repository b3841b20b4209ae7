//! The permission matrix (docs/api.md, "Roles and permissions"), as data.
//!
//! Each action lists the roles that may perform it; anything not listed is
//! denied. Handlers name the action in their signature (`Authorized<can::X>`),
//! so an unauthorised request never reaches the handler body. Scope (whose
//! file, which organisation) is checked by the handler's query and answers 404.

use crate::users::Role;

macro_rules! permission_matrix {
    ($($(#[$doc:meta])* $action:ident => [$($role:ident),* $(,)?]),+ $(,)?) => {
        /// Everything a caller can ask to do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($(#[$doc])* $action),+ }

        /// Who may do what.
        pub const MATRIX: &[(Action, &[Role])] = &[
            $((Action::$action, &[$(Role::$role),*])),+
        ];

        /// Type-level names of the actions, for `Authorized<can::X>`.
        pub mod can {
            $(
                $(#[$doc])*
                pub struct $action;
                impl super::Permission for $action {
                    const ACTION: super::Action = super::Action::$action;
                }
            )+
        }
    };
}

pub trait Permission {
    const ACTION: Action;
}

permission_matrix! {
    /// Read one's own account, log out.
    UseOwnSession => [Admin, Caseworker, Reviewer, FamilyRepresentative, Auditor],
    /// Enrol, confirm, disable and read one's own second factor.
    ManageOwnSecondFactor => [Admin, Caseworker, Reviewer, FamilyRepresentative, Auditor],
    /// Create organisations.
    ManageOrganizations => [Admin],
    ReadOrganizations => [Admin, Auditor],
    /// Create accounts, change role / name / active, reset passwords.
    ManageUsers => [Admin],
    ReadUsers => [Admin, Auditor],
    /// Read and verify the audit log and the access log; read signed checkpoints.
    ReadAudit => [Auditor],
    /// The shared facility registry.
    ReadFacilities => [Admin, Caseworker, Reviewer, FamilyRepresentative, Auditor],
    WriteFacilities => [Caseworker],
    /// Detainee files: which ones is decided by `detainees::scope`.
    ReadDetainees => [Caseworker, Reviewer, Auditor],
    /// Create, edit, archive and restore files of one's own organisation.
    WriteDetainees => [Caseworker],
    /// Import lists into one's own organisation; save mappings; cancel
    /// the organisation's imports.
    ImportDetainees => [Caseworker],
    /// Import jobs and their reports: the organisation's for caseworkers,
    /// every one for auditors.
    ReadImports => [Caseworker, Auditor],
    /// Open a review of one's own organisation's file, or withdraw it.
    RequestReview => [Caseworker],
    /// The reviews of one file (`GET /detainees/{id}/reviews`): the file's
    /// owner and auditors. Reviewers work from their queue, not from files.
    ReadFileReviews => [Caseworker, Auditor],
    /// See reviews (which ones is decided by `reviews::scope`).
    ReadReviews => [Caseworker, Reviewer, FamilyRepresentative, Auditor],
    /// Claim, decide, confirm or dispute a review of another organisation's file.
    ActOnReview => [Reviewer],
    /// Give a family's position on a review of a major-crimes file.
    Consult => [FamilyRepresentative],
    /// A file's attachments and their contents: whoever sees the file
    /// (`detainees::scope`); family representatives never.
    ReadAttachments => [Caseworker, Reviewer, Auditor],
    /// Attach evidence to, and archive attachments of, one's own
    /// organisation's files.
    WriteAttachments => [Caseworker],
    /// Remove an archived attachment's content for good.
    PurgeAttachments => [Admin],
}

/// What a session may do before its second factor, where its role needs
/// one: read its account, log out, enrol.
pub fn open_before_enrolment(action: Action) -> bool {
    matches!(
        action,
        Action::UseOwnSession | Action::ManageOwnSecondFactor
    )
}

pub fn allows(role: Role, action: Action) -> bool {
    MATRIX
        .iter()
        .any(|(a, roles)| *a == action && roles.contains(&role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_never_read_the_audit_log_and_auditors_never_write() {
        assert!(!allows(Role::Admin, Action::ReadAudit));
        assert!(allows(Role::Auditor, Action::ReadAudit));
        for action in [Action::ManageOrganizations, Action::ManageUsers] {
            assert!(!allows(Role::Auditor, action));
            assert!(!allows(Role::Caseworker, action));
        }
    }

    #[test]
    fn every_action_appears_once() {
        for (i, (a, _)) in MATRIX.iter().enumerate() {
            assert!(MATRIX[i + 1..].iter().all(|(b, _)| b != a), "{a:?} twice");
        }
    }
}
