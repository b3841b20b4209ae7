//! The review state machine: one transition table, tested as a table.
//! Who may take each step is checked beside it, in `authorize`.

use uuid::Uuid;

use super::model::{Decision, Review, ReviewState};
use crate::auth::Caller;
use crate::error::AppError;
use crate::users::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Claim,
    Decide,
    Confirm,
    Dispute,
    Withdraw,
    Consult,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Claim => "claim",
            Step::Decide => "decide",
            Step::Confirm => "confirm",
            Step::Dispute => "dispute",
            Step::Withdraw => "withdraw",
            Step::Consult => "consult on",
        }
    }
}

use ReviewState::{AwaitingConfirmation, Decided, InReview, Open, Withdrawn};

/// Every allowed `(from, step, to)`. Anything else is 409 `invalid_transition`.
/// `Decide` goes to `Decided`, except a clearance of a major-crimes file,
/// which waits for a second organisation's confirmation (`decided_state`).
pub const TRANSITIONS: &[(ReviewState, Step, ReviewState)] = &[
    (Open, Step::Claim, InReview),
    (Open, Step::Withdraw, Withdrawn),
    (Open, Step::Consult, Open),
    (InReview, Step::Decide, Decided),
    (InReview, Step::Withdraw, Withdrawn),
    (InReview, Step::Consult, InReview),
    (AwaitingConfirmation, Step::Confirm, Decided),
    (AwaitingConfirmation, Step::Dispute, InReview),
    (AwaitingConfirmation, Step::Withdraw, Withdrawn),
    (AwaitingConfirmation, Step::Consult, AwaitingConfirmation),
];

pub fn next_state(current: ReviewState, step: Step) -> Result<ReviewState, AppError> {
    TRANSITIONS
        .iter()
        .find(|(from, s, _)| *from == current && *s == step)
        .map(|(_, _, to)| *to)
        .ok_or_else(|| AppError::Conflict {
            code: crate::error::Code::InvalidTransition,
            detail: format!("cannot {} a review that is {current}", step.as_str()),
        })
}

/// Where a decision leads: a clearance of a file accused of major crimes
/// needs a second independent organisation's confirmation.
pub fn decided_state(major_crimes_accusation: bool, decision: Decision) -> ReviewState {
    if major_crimes_accusation && decision == Decision::ClearedForRelease {
        AwaitingConfirmation
    } else {
        Decided
    }
}

/// The actor rules of each reviewer step (403 when broken). Scope (which
/// reviews a caller can see at all, 404 otherwise) is `reviews::scope`.
pub fn authorize(
    step: Step,
    caller: &Caller,
    review: &Review,
    file_owner: Uuid,
) -> Result<(), AppError> {
    let user = &caller.user;
    match step {
        Step::Claim => {
            if user.role != Role::Reviewer || user.organization_id == file_owner {
                // only a reviewer of an independent organisation that does not own the file may claim it.
                return Err(AppError::Forbidden);
            }
        }
        Step::Decide => {
            if review.reviewer_id != Some(user.id) {
                // only the reviewer who claimed the review decides it.
                return Err(AppError::Forbidden);
            }
        }
        Step::Confirm | Step::Dispute => {
            if user.role != Role::Reviewer
                || review.reviewer_id == Some(user.id)
                || review.reviewer_organization_id == Some(user.organization_id)
                || user.organization_id == file_owner
            {
                // a second reviewer of a different independent organisation confirms or disputes.
                return Err(AppError::Forbidden);
            }
        }
        Step::Withdraw | Step::Consult => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [Step; 6] = [
        Step::Claim,
        Step::Decide,
        Step::Confirm,
        Step::Dispute,
        Step::Withdraw,
        Step::Consult,
    ];

    /// The whole table, both ways: every listed pair moves, every other is refused.
    #[test]
    fn only_the_listed_transitions_exist() {
        for state in ReviewState::ALL {
            for step in STEPS {
                let listed = TRANSITIONS
                    .iter()
                    .find(|(f, s, _)| f == state && *s == step);
                match (listed, next_state(*state, step)) {
                    (Some((_, _, to)), Ok(next)) => assert_eq!(*to, next),
                    (None, Err(err)) => {
                        assert_eq!(err.code(), "invalid_transition");
                        assert!(err.to_string().contains(state.as_str()), "names the state");
                    }
                    (listed, result) => panic!("{state:?} {step:?}: {listed:?} vs {result:?}"),
                }
            }
        }
        // Nothing leaves a final state.
        for step in STEPS {
            assert!(next_state(Decided, step).is_err());
            assert!(next_state(Withdrawn, step).is_err());
        }
    }

    #[test]
    fn only_a_major_crimes_clearance_waits_for_confirmation() {
        assert_eq!(
            decided_state(true, Decision::ClearedForRelease),
            AwaitingConfirmation
        );
        assert_eq!(decided_state(true, Decision::ReleaseWithheld), Decided);
        assert_eq!(decided_state(false, Decision::ClearedForRelease), Decided);
        assert_eq!(decided_state(false, Decision::ReleaseWithheld), Decided);
    }
}
