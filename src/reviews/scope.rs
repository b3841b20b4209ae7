//! Which reviews a caller may see (docs/review-workflow.md, "Who sees what").

use uuid::Uuid;

use crate::auth::Caller;
use crate::users::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewScope {
    /// A caseworker: the reviews of their organisation's files.
    Organization(Uuid),
    /// A reviewer: the reviews they may act on — open ones to claim, their
    /// own claimed ones, and others' awaiting confirmation.
    Reviewer {
        user: Uuid,
        organization: Uuid,
    },
    /// A family representative: undecided reviews of major-crimes files.
    AwaitingConsultation,
    /// An auditor: all.
    All,
    Nothing,
}

impl ReviewScope {
    pub fn of(caller: &Caller) -> ReviewScope {
        let user = &caller.user;
        match user.role {
            Role::Caseworker => ReviewScope::Organization(user.organization_id),
            Role::Reviewer => ReviewScope::Reviewer {
                user: user.id,
                organization: user.organization_id,
            },
            Role::FamilyRepresentative => ReviewScope::AwaitingConsultation,
            Role::Auditor => ReviewScope::All,
            Role::Admin => ReviewScope::Nothing,
        }
    }
}

/// The reviews a reviewer may act on, as a diesel filter on `reviews`
/// (shared by the review lists and by which files a reviewer may read).
#[macro_export]
macro_rules! actionable_by_reviewer {
    ($user:expr, $organization:expr) => {{
        use $crate::db::schema::reviews as r;
        use $crate::reviews::ReviewState;
        r::status
            .eq(ReviewState::Open.as_str())
            .or(r::reviewer_id
                .is_not_null()
                .and(r::reviewer_id.assume_not_null().eq($user.to_string()))
                .and(r::status.eq_any([
                    ReviewState::InReview.as_str(),
                    ReviewState::AwaitingConfirmation.as_str(),
                ])))
            .or(r::status
                .eq(ReviewState::AwaitingConfirmation.as_str())
                .and(r::reviewer_organization_id.is_not_null())
                .and(
                    r::reviewer_organization_id
                        .assume_not_null()
                        .ne($organization.to_string()),
                ))
    }};
}
