//! The review state machine: one transition table, and one function that
//! decides who may take each step (`may_take`), both tested as tables.

use uuid::Uuid;

use super::model::{Decision, Review, ReviewState};
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

/// How a caller stands to a review: besides their role, all the rules of
/// the steps look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// They claimed the review.
    Claimant,
    /// Their organisation owns the file.
    FileOwner,
    /// A colleague of the claimant (the same organisation), not the claimant.
    ClaimantColleague,
    /// None of these: someone of an independent organisation.
    Independent,
}

impl Relation {
    pub fn of(user: Uuid, organization: Uuid, review: &Review, file_owner: Uuid) -> Relation {
        if review.reviewer_id == Some(user) {
            Relation::Claimant
        } else if organization == file_owner {
            Relation::FileOwner
        } else if review.reviewer_organization_id == Some(organization) {
            Relation::ClaimantColleague
        } else {
            Relation::Independent
        }
    }
}

/// What the rules look at of the review and its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub state: ReviewState,
    /// The file is accused of major crimes (only such files are consulted on).
    pub major_crimes: bool,
}

/// The one place that decides whether a caller may take `step`, and where
/// it leads. Checked in this order, so that each refusal says no more than
/// the caller may know:
///
/// 1. the role that takes the step (403) — the permission table refuses
///    other roles before a request gets here; this is the same rule, kept
///    whole;
/// 2. whether the review is theirs to act on at all (404): a caseworker
///    withdraws only their organisation's reviews, and families are
///    consulted only on files accused of major crimes;
/// 3. the transition from the current state (409 `invalid_transition`);
/// 4. the independence rules (403): no reviewer of the organisation that
///    owns the file claims it; only the claimant decides; a second reviewer
///    of another independent organisation confirms or disputes.
///
/// Returns the next state; a decision's is refined by `decided_state`.
pub fn may_take(
    step: Step,
    role: Role,
    relation: Relation,
    subject: Subject,
) -> Result<ReviewState, AppError> {
    let takes = match step {
        Step::Claim | Step::Decide | Step::Confirm | Step::Dispute => Role::Reviewer,
        Step::Withdraw => Role::Caseworker,
        Step::Consult => Role::FamilyRepresentative,
    };
    if role != takes {
        return Err(AppError::Forbidden);
    }
    let theirs = match step {
        Step::Withdraw => relation == Relation::FileOwner,
        Step::Consult => subject.major_crimes,
        Step::Claim | Step::Decide | Step::Confirm | Step::Dispute => true,
    };
    if !theirs {
        return Err(AppError::NotFound);
    }
    let next = next_state(subject.state, step)?;
    let independent = match step {
        Step::Claim => relation != Relation::FileOwner,
        Step::Decide => relation == Relation::Claimant,
        Step::Confirm | Step::Dispute => relation == Relation::Independent,
        Step::Withdraw | Step::Consult => true,
    };
    if !independent {
        return Err(AppError::Forbidden);
    }
    Ok(next)
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

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Expect {
        To(ReviewState),
        Forbidden,
        NotFound,
        Conflict,
    }
    use Expect::{Conflict, Forbidden, NotFound, To};
    use Relation::{Claimant, ClaimantColleague, FileOwner, Independent};
    use Role::{Admin, Auditor, Caseworker, FamilyRepresentative, Reviewer};

    const MAJOR: bool = true;
    const OTHER: bool = false;

    /// step, role, relation, state, file accused of major crimes → outcome.
    #[rustfmt::skip]
    const TABLE: &[(Step, Role, Relation, ReviewState, bool, Expect)] = &[
        // Claim: a reviewer of an organisation that does not own the file.
        (Step::Claim, Reviewer, Independent, Open, OTHER, To(InReview)),
        (Step::Claim, Reviewer, Independent, Open, MAJOR, To(InReview)),
        (Step::Claim, Reviewer, FileOwner, Open, OTHER, Forbidden),
        (Step::Claim, Reviewer, Independent, InReview, OTHER, Conflict),
        (Step::Claim, Reviewer, Independent, AwaitingConfirmation, OTHER, Conflict),
        (Step::Claim, Reviewer, Independent, Decided, OTHER, Conflict),
        (Step::Claim, Reviewer, Independent, Withdrawn, OTHER, Conflict),
        (Step::Claim, Reviewer, FileOwner, InReview, OTHER, Conflict),
        (Step::Claim, Caseworker, FileOwner, Open, OTHER, Forbidden),
        (Step::Claim, Caseworker, Independent, Open, OTHER, Forbidden),
        (Step::Claim, FamilyRepresentative, Independent, Open, MAJOR, Forbidden),
        (Step::Claim, Auditor, Independent, Open, OTHER, Forbidden),
        (Step::Claim, Admin, Independent, Open, OTHER, Forbidden),
        // Decide: only the claimant.
        (Step::Decide, Reviewer, Claimant, InReview, OTHER, To(Decided)),
        (Step::Decide, Reviewer, Claimant, InReview, MAJOR, To(Decided)),
        (Step::Decide, Reviewer, ClaimantColleague, InReview, OTHER, Forbidden),
        (Step::Decide, Reviewer, Independent, InReview, OTHER, Forbidden),
        (Step::Decide, Reviewer, FileOwner, InReview, OTHER, Forbidden),
        (Step::Decide, Reviewer, Claimant, Open, OTHER, Conflict),
        (Step::Decide, Reviewer, Claimant, AwaitingConfirmation, MAJOR, Conflict),
        (Step::Decide, Reviewer, Claimant, Decided, OTHER, Conflict),
        (Step::Decide, Reviewer, Claimant, Withdrawn, OTHER, Conflict),
        (Step::Decide, Caseworker, FileOwner, InReview, OTHER, Forbidden),
        (Step::Decide, Auditor, Claimant, InReview, OTHER, Forbidden),
        // Confirm and dispute: a second reviewer of another independent organisation.
        (Step::Confirm, Reviewer, Independent, AwaitingConfirmation, MAJOR, To(Decided)),
        (Step::Confirm, Reviewer, Claimant, AwaitingConfirmation, MAJOR, Forbidden),
        (Step::Confirm, Reviewer, ClaimantColleague, AwaitingConfirmation, MAJOR, Forbidden),
        (Step::Confirm, Reviewer, FileOwner, AwaitingConfirmation, MAJOR, Forbidden),
        (Step::Confirm, Reviewer, Independent, Open, MAJOR, Conflict),
        (Step::Confirm, Reviewer, Independent, InReview, MAJOR, Conflict),
        (Step::Confirm, Reviewer, Independent, Decided, MAJOR, Conflict),
        (Step::Confirm, Reviewer, Independent, Withdrawn, MAJOR, Conflict),
        (Step::Confirm, FamilyRepresentative, Independent, AwaitingConfirmation, MAJOR, Forbidden),
        (Step::Confirm, Caseworker, FileOwner, AwaitingConfirmation, MAJOR, Forbidden),
        (Step::Dispute, Reviewer, Independent, AwaitingConfirmation, MAJOR, To(InReview)),
        (Step::Dispute, Reviewer, Claimant, AwaitingConfirmation, MAJOR, Forbidden),
        (Step::Dispute, Reviewer, ClaimantColleague, AwaitingConfirmation, MAJOR, Forbidden),
        (Step::Dispute, Reviewer, FileOwner, AwaitingConfirmation, MAJOR, Forbidden),
        (Step::Dispute, Reviewer, Independent, InReview, MAJOR, Conflict),
        (Step::Dispute, Reviewer, Independent, Decided, MAJOR, Conflict),
        (Step::Dispute, Auditor, Independent, AwaitingConfirmation, MAJOR, Forbidden),
        // Withdraw: a caseworker of the organisation that owns the file, until decided.
        (Step::Withdraw, Caseworker, FileOwner, Open, OTHER, To(Withdrawn)),
        (Step::Withdraw, Caseworker, FileOwner, InReview, OTHER, To(Withdrawn)),
        (Step::Withdraw, Caseworker, FileOwner, AwaitingConfirmation, MAJOR, To(Withdrawn)),
        (Step::Withdraw, Caseworker, FileOwner, Decided, OTHER, Conflict),
        (Step::Withdraw, Caseworker, FileOwner, Withdrawn, OTHER, Conflict),
        (Step::Withdraw, Caseworker, Independent, Open, OTHER, NotFound),
        (Step::Withdraw, Caseworker, Independent, Decided, OTHER, NotFound),
        (Step::Withdraw, Reviewer, Claimant, InReview, OTHER, Forbidden),
        (Step::Withdraw, Auditor, Independent, Open, OTHER, Forbidden),
        (Step::Withdraw, Admin, FileOwner, Open, OTHER, Forbidden),
        // Consult: a family representative, on files accused of major crimes, until decided.
        (Step::Consult, FamilyRepresentative, Independent, Open, MAJOR, To(Open)),
        (Step::Consult, FamilyRepresentative, Independent, InReview, MAJOR, To(InReview)),
        (Step::Consult, FamilyRepresentative, Independent, AwaitingConfirmation, MAJOR, To(AwaitingConfirmation)),
        (Step::Consult, FamilyRepresentative, Independent, Decided, MAJOR, Conflict),
        (Step::Consult, FamilyRepresentative, Independent, Withdrawn, MAJOR, Conflict),
        (Step::Consult, FamilyRepresentative, Independent, Open, OTHER, NotFound),
        (Step::Consult, FamilyRepresentative, Independent, Decided, OTHER, NotFound),
        (Step::Consult, Reviewer, Claimant, InReview, MAJOR, Forbidden),
        (Step::Consult, Caseworker, FileOwner, Open, MAJOR, Forbidden),
        (Step::Consult, Auditor, Independent, Open, MAJOR, Forbidden),
    ];

    fn outcome(
        step: Step,
        role: Role,
        relation: Relation,
        state: ReviewState,
        major: bool,
    ) -> Expect {
        let subject = Subject {
            state,
            major_crimes: major,
        };
        match may_take(step, role, relation, subject) {
            Ok(next) => To(next),
            Err(AppError::Forbidden) => Forbidden,
            Err(AppError::NotFound) => NotFound,
            Err(err) if err.code() == "invalid_transition" => Conflict,
            Err(err) => panic!("unexpected refusal {err:?}"),
        }
    }

    #[test]
    fn who_may_take_each_step() {
        for &(step, role, relation, state, major, expected) in TABLE {
            assert_eq!(
                outcome(step, role, relation, state, major),
                expected,
                "{step:?} by a {role:?} ({relation:?}) on a {state:?} review, major crimes: {major}"
            );
        }
    }

    /// Across every combination, not only the rows above: what independence means.
    #[test]
    fn independence_holds_everywhere() {
        let relations = [Claimant, FileOwner, ClaimantColleague, Independent];
        for step in STEPS {
            for role in [Caseworker, Reviewer, FamilyRepresentative, Auditor, Admin] {
                for relation in relations {
                    for state in ReviewState::ALL {
                        for major in [MAJOR, OTHER] {
                            let allowed =
                                matches!(outcome(step, role, relation, *state, major), To(_));
                            let what = format!("{step:?} {role:?} {relation:?} {state:?} {major}");
                            if allowed {
                                assert!(!matches!(role, Auditor | Admin), "{what}");
                                // (A family representative's organisation never owns
                                // files: `Role::fits`.)
                                assert!(
                                    relation != FileOwner
                                        || matches!(step, Step::Withdraw | Step::Consult),
                                    "{what}"
                                );
                                assert!(step != Step::Decide || relation == Claimant, "{what}");
                                assert!(
                                    !matches!(step, Step::Confirm | Step::Dispute)
                                        || relation == Independent,
                                    "{what}"
                                );
                                assert!(step != Step::Consult || major, "{what}");
                                assert_eq!(
                                    Some(outcome(step, role, relation, *state, major)),
                                    next_state(*state, step).ok().map(To),
                                    "{what}"
                                );
                            }
                        }
                    }
                }
            }
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
