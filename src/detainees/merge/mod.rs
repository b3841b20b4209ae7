//! Merging duplicate files, and undoing a merge.
//!
//! The survivor keeps its own values and takes what it lacks from the
//! duplicate; aliases, notes and custody events are combined; an accusation
//! of major crimes on either file stays on the survivor. The duplicate is
//! archived with `merged_into`. The survivor's content before the merge is
//! kept, so `unmerge` restores both files exactly — as long as the survivor
//! was not edited since (then 409: separate them by hand). A merge keeps
//! the graver accusation and any refusal to release (see
//! `merged_review_status`), and its content passes the rules of a PATCH.

pub mod routes;
pub mod store;

use serde::{Deserialize, Serialize};

use super::model::{Detainee, DetaineeFields, ReviewStatus, Sex};
use crate::domain::{parse_notes, MAX_NOTES_CHARS};
use crate::error::AppError;

/// The survivor's content before a merge, kept so that `unmerge` restores it.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    pub fields: DetaineeFields,
    pub source_notes: Option<String>,
    pub review_status: ReviewStatus,
}

impl Snapshot {
    pub fn of(file: &Detainee) -> Snapshot {
        Snapshot {
            fields: file.fields.clone(),
            source_notes: file.source_notes.clone(),
            review_status: file.review_status,
        }
    }
}

/// A file is not merged into itself (409, before either is looked up).
pub fn check_distinct(survivor: uuid::Uuid, duplicate: uuid::Uuid) -> Result<(), AppError> {
    if survivor == duplicate {
        return Err(AppError::conflict("a file cannot be merged into itself"));
    }
    Ok(())
}

/// Whether two files may be merged (409 otherwise): neither archived,
/// neither under an undecided review (whose decision would be about content
/// the merge changes).
pub fn check_mergeable(
    survivor: &Detainee,
    duplicate: &Detainee,
    under_review: bool,
) -> Result<(), AppError> {
    if survivor.archived_at.is_some() || duplicate.archived_at.is_some() {
        return Err(AppError::conflict("archived files cannot be merged"));
    }
    if under_review {
        return Err(AppError::conflict(
            "a file under an undecided review cannot be merged",
        ));
    }
    Ok(())
}

/// The survivor's content after the merge, validated as a PATCH would be.
pub struct Merged {
    pub fields: DetaineeFields,
    pub source_notes: Option<String>,
    pub review_status: ReviewStatus,
}

/// What the survivor becomes when `duplicate` is folded into it.
pub fn merged(survivor: &Detainee, duplicate: &Detainee) -> Result<Merged, AppError> {
    let (fields, source_notes) = combine(survivor, duplicate)?;
    let review_status = merged_review_status(survivor, duplicate, &fields);
    Ok(Merged {
        fields,
        source_notes,
        review_status,
    })
}

/// The survivor's content after taking in the duplicate, validated as a
/// PATCH would be (422 when the two together break a rule: more than 20
/// names, notes over the limit, dates out of order).
fn combine(
    survivor: &Detainee,
    duplicate: &Detainee,
) -> Result<(DetaineeFields, Option<String>), AppError> {
    let (s, d) = (survivor.fields.clone(), &duplicate.fields);
    let mut aliases = s.aliases.clone();
    let mut add = |name: &str| {
        if name != s.full_name
            && Some(name) != s.name_ar.as_deref()
            && !aliases.iter().any(|a| a == name)
        {
            aliases.push(name.to_owned());
        }
    };
    add(&d.full_name);
    if let Some(ar) = &d.name_ar {
        if s.name_ar.is_some() {
            add(ar);
        }
    }
    for alias in &d.aliases {
        add(alias);
    }
    let join = |a: &Option<String>, b: &Option<String>, label: String| match (a, b) {
        (Some(a), Some(b)) if a != b => Some(format!("{a}\n\n[{label}]\n{b}")),
        (None, Some(b)) => Some(b.clone()),
        (a, _) => a.clone(),
    };
    let label = format!("from {}", duplicate.reference);
    let fields = DetaineeFields {
        name_ar: s.name_ar.clone().or_else(|| d.name_ar.clone()),
        aliases,
        sex: if s.sex == Sex::Unknown { d.sex } else { s.sex },
        birth_date: s.birth_date.or(d.birth_date),
        place_of_origin: s
            .place_of_origin
            .clone()
            .or_else(|| d.place_of_origin.clone()),
        // What either file says a person is accused of is not lost by
        // merging: the graver category, any accusation of major crimes, and
        // both summaries.
        category: s.category.graver(d.category),
        major_crimes_accusation: s.major_crimes_accusation || d.major_crimes_accusation,
        accusation_summary: join(&s.accusation_summary, &d.accusation_summary, label.clone()),
        facility_id: s.facility_id.or(d.facility_id),
        detained_on: s.detained_on.or(d.detained_on),
        last_seen_on: s.last_seen_on.or(d.last_seen_on),
        released_on: s.released_on.or(d.released_on),
        notes: join(&s.notes, &d.notes, label.clone()),
        ..s.clone()
    }
    .validated()
    .map_err(merged_invalid)?;
    let source_notes = parse_notes(
        "source_notes",
        join(&survivor.source_notes, &duplicate.source_notes, label).as_deref(),
        MAX_NOTES_CHARS,
    )
    .map_err(merged_invalid)?;
    Ok((fields, source_notes))
}

/// The merged file's review status: the survivor's, reset as an edit would
/// reset it when the accusation changes — and a refusal to release either
/// file survives the merge, so that a caseworker cannot merge a withheld
/// file into a cleared copy of the same person and release that.
fn merged_review_status(
    survivor: &Detainee,
    duplicate: &Detainee,
    fields: &DetaineeFields,
) -> ReviewStatus {
    let withheld = ReviewStatus::ReleaseWithheld;
    if survivor.review_status == withheld || duplicate.review_status == withheld {
        withheld
    } else {
        survivor.review_status_after(fields)
    }
}

/// A rule the two files break together: say that it is the merge.
fn merged_invalid(err: AppError) -> AppError {
    match err {
        AppError::Invalid { detail, .. } => AppError::validation(format!(
            "the merged file would break a rule ({detail}); edit one of the files first"
        )),
        other => other,
    }
}
