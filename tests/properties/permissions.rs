//! The permission matrix: every role × action is decided, anything not
//! listed is denied, and the matrix is the documented one (docs/api.md "Roles and permissions",
//! docs/review-workflow.md "Who sees what").

use proptest::prelude::*;
use sijill::auth::permissions::{allows, Action, MATRIX};
use sijill::users::Role;

use Role::{Admin, Auditor, Caseworker, FamilyRepresentative, Reviewer};

/// Every action, written out: a new action fails to compile in `documented`
/// until someone decides, here, who may perform it.
const ACTIONS: [Action; 21] = [
    Action::UseOwnSession,
    Action::ManageOwnSecondFactor,
    Action::ManageOrganizations,
    Action::ReadOrganizations,
    Action::ManageUsers,
    Action::ReadUsers,
    Action::ReadAudit,
    Action::ReadFacilities,
    Action::WriteFacilities,
    Action::ReadDetainees,
    Action::WriteDetainees,
    Action::ImportDetainees,
    Action::ReadImports,
    Action::RequestReview,
    Action::ReadFileReviews,
    Action::ReadReviews,
    Action::ActOnReview,
    Action::Consult,
    Action::ReadAttachments,
    Action::WriteAttachments,
    Action::PurgeAttachments,
];

/// Who may do what, as the documentation says it in words (docs/api.md,
/// "Roles and permissions": "admin — manages organisations and accounts;
/// never touches files, reviews or the audit log"; "caseworker — keeps the
/// facility registry; creates, edits, archives and merges the files of
/// their own organisation; opens and withdraws reviews of them";
/// "reviewer — … claims, decides, confirms and disputes reviews …; never
/// edits a file"; "family_representative — reads the reviews that await a
/// family's word …; adds consultations"; "auditor — reads everything,
/// including the audit log …; writes nothing"; and docs/review-workflow.md).
fn documented(action: Action) -> &'static [Role] {
    match action {
        // Every account reads itself and logs out.
        Action::UseOwnSession => &[Admin, Caseworker, Reviewer, FamilyRepresentative, Auditor],
        // docs/security.md, "Second factor": every account may have one.
        Action::ManageOwnSecondFactor => {
            &[Admin, Caseworker, Reviewer, FamilyRepresentative, Auditor]
        }
        Action::ManageOrganizations => &[Admin],
        Action::ReadOrganizations => &[Admin, Auditor],
        Action::ManageUsers => &[Admin],
        Action::ReadUsers => &[Admin, Auditor],
        Action::ReadAudit => &[Auditor],
        // The shared registry of facilities is not case data: every role reads it.
        Action::ReadFacilities => &[Admin, Caseworker, Reviewer, FamilyRepresentative, Auditor],
        Action::WriteFacilities => &[Caseworker],
        // "Who sees what", files column: family representatives and admins 403.
        Action::ReadDetainees => &[Caseworker, Reviewer, Auditor],
        Action::WriteDetainees => &[Caseworker],
        // docs/imports.md: caseworkers import into their own organisation;
        // auditors read every job and report.
        Action::ImportDetainees => &[Caseworker],
        Action::ReadImports => &[Caseworker, Auditor],
        Action::RequestReview => &[Caseworker],
        // "A file's own review list … is for the owning organisation's
        // caseworkers and auditors; reviewers …, family representatives and
        // admins get 403."
        Action::ReadFileReviews => &[Caseworker, Auditor],
        // "Who sees what", reviews column: admins 403.
        Action::ReadReviews => &[Caseworker, Reviewer, FamilyRepresentative, Auditor],
        Action::ActOnReview => &[Reviewer],
        Action::Consult => &[FamilyRepresentative],
        // docs/attachments.md: "who reads follows who sees the file; family
        // representatives never"; caseworkers attach and archive; only an
        // admin purges (and reads nothing).
        Action::ReadAttachments => &[Caseworker, Reviewer, Auditor],
        Action::WriteAttachments => &[Caseworker],
        Action::PurgeAttachments => &[Admin],
    }
}

/// Actions that change nothing but the caller's own session and second factor.
fn reads_only(action: Action) -> bool {
    format!("{action:?}").starts_with("Read")
        || matches!(
            action,
            Action::UseOwnSession | Action::ManageOwnSecondFactor
        )
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

fn action() -> impl Strategy<Value = Action> {
    prop::sample::select(ACTIONS.to_vec())
}

proptest! {
    /// Any role and action: a decision, the documented one; anything the
    /// matrix does not list is denied.
    #[test]
    fn every_pair_is_decided_as_documented(role in role(), action in action()) {
        let allowed = allows(role, action);
        prop_assert_eq!(allowed, documented(action).contains(&role), "{:?} {:?}", role, action);
        let listed = MATRIX
            .iter()
            .any(|(a, roles)| *a == action && roles.contains(&role));
        prop_assert_eq!(allowed, listed);
    }
}

/// Every role × every action, exhaustively (5 × 16).
#[test]
fn the_matrix_is_the_documented_one() {
    assert_eq!(
        Role::ALL.len(),
        5,
        "a new role: decide its permissions in `documented`"
    );
    for action in ACTIONS {
        for &role in Role::ALL {
            assert_eq!(
                allows(role, action),
                documented(action).contains(&role),
                "{role:?} {action:?}"
            );
        }
    }
    // The matrix lists every action once, and only those.
    let mut listed: Vec<String> = MATRIX.iter().map(|(a, _)| format!("{a:?}")).collect();
    let mut known: Vec<String> = ACTIONS.iter().map(|a| format!("{a:?}")).collect();
    listed.sort();
    known.sort();
    assert_eq!(listed, known);
    for (action, roles) in MATRIX {
        let mut sorted: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        sorted.sort();
        let before = sorted.len();
        sorted.dedup();
        assert_eq!(before, sorted.len(), "{action:?} lists a role twice");
    }
}

/// The roles in general terms (docs/api.md): auditors write nothing; admins
/// never touch case data, reviews or the audit log; reviewers never edit a
/// file; every role may do something beyond its own session.
#[test]
fn roles_keep_to_their_part() {
    for action in ACTIONS {
        let name = format!("{action:?}");
        if allows(Auditor, action) {
            assert!(reads_only(action), "auditors write nothing: {name}");
        }
        if allows(Admin, action) {
            for word in ["Detainee", "Review", "Audit", "Consult"] {
                assert!(!name.contains(word), "admins never touch {word}: {name}");
            }
        }
        if name.contains("Detainee") && !reads_only(action) {
            assert!(
                !allows(Reviewer, action),
                "reviewers never edit a file: {name}"
            );
        }
    }
    for &role in Role::ALL {
        assert!(
            ACTIONS
                .iter()
                .any(|a| *a != Action::UseOwnSession && allows(role, *a)),
            "{role:?} can do nothing"
        );
    }
}

/// docs/review-workflow.md, "Who sees what": a role whose cell says 403 is
/// denied that column's action, any other is allowed.
#[test]
fn the_who_sees_what_table_agrees() {
    let doc = include_str!("../../docs/review-workflow.md");
    let section = doc
        .split("## Who sees what")
        .nth(1)
        .expect("docs/review-workflow.md has a \"Who sees what\" section");
    let rows: Vec<Vec<&str>> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    assert!(
        rows.first()
            .is_some_and(|h| h[0] == "role" && h[1].starts_with("reviews") && h[2] == "files"),
        "the table's columns changed: {:?}",
        rows.first()
    );
    let mut seen = Vec::new();
    for row in rows.iter().skip(2) {
        let role = Role::ALL
            .iter()
            .copied()
            .find(|r| r.as_str().replace('_', " ") == row[0])
            .unwrap_or_else(|| panic!("unknown role {:?} in the table", row[0]));
        seen.push(role);
        for (cell, action) in [
            (row[1], Action::ReadReviews),
            (row[2], Action::ReadDetainees),
        ] {
            assert_eq!(
                allows(role, action),
                !cell.contains("(403)"),
                "{role:?} {action:?}: the table says {cell:?}"
            );
        }
    }
    assert_eq!(
        seen.len(),
        Role::ALL.len(),
        "every role has a row: {seen:?}"
    );
}
