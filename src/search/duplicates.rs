//! Likely duplicate files: the same name machinery, plus birth date, place
//! of origin, sex and facility, each hit with its reasons.

use uuid::Uuid;

use super::names::{named_fields, score, tokens, NameToken};
use crate::detainees::model::{DetaineeFields, Sex};
use crate::detainees::Detainee;

/// Below this, two files are not proposed as duplicates.
pub const MIN_DUPLICATE_SCORE: f64 = 0.6;

/// What likeness compares of a file: its names, birth year, place of
/// origin, sex and facility.
pub struct Person<'a> {
    /// `(field, text)`, as `names::named_fields` lists them.
    pub names: Vec<(&'static str, &'a str)>,
    pub birth_year: Option<i32>,
    pub place_of_origin: Option<&'a str>,
    pub sex: Sex,
    pub facility_id: Option<Uuid>,
}

impl<'a> Person<'a> {
    pub fn of(fields: &'a DetaineeFields) -> Self {
        Person {
            names: named_fields(
                &fields.full_name,
                fields.name_ar.as_deref(),
                &fields.aliases,
            ),
            birth_year: fields.birth_date.map(|d| d.year()),
            place_of_origin: fields.place_of_origin.as_deref(),
            sex: fields.sex,
            facility_id: fields.facility_id,
        }
    }
}

/// A person's names as tokens: what likeness compares, computed once for
/// a person compared with many.
pub type NameTokens = Vec<(&'static str, Vec<NameToken>)>;

impl Person<'_> {
    pub fn name_tokens(&self) -> NameTokens {
        self.names.iter().map(|(f, v)| (*f, tokens(v))).collect()
    }
}

/// How likely `other` is the same person as `file`, and why.
pub fn likeness(file: &Detainee, other: &Detainee) -> (f64, Vec<String>) {
    let (file, other) = (Person::of(&file.fields), Person::of(&other.fields));
    likeness_of(&file, &file.name_tokens(), &other, &other.name_tokens())
}

/// `likeness` of two people however they are held (files, rows of an
/// import), their names already tokens (`Person::name_tokens`).
pub fn likeness_of(
    file: &Person,
    ours: &NameTokens,
    other: &Person,
    theirs: &NameTokens,
) -> (f64, Vec<String>) {
    let mut best = (0.0, "", "", 0usize);
    for (field_a, a) in ours {
        for (field_b, b) in theirs {
            let m = score(a, b);
            if m.score > best.0 {
                best = (m.score, field_a, field_b, m.matched.len());
            }
        }
    }
    let (mut likeness, field_a, field_b, parts) = best;
    let mut reasons = vec![format!(
        "names: {field_a} ~ {field_b}, {parts} parts match ({likeness:.2})"
    )];
    let (f, o) = (file, other);
    if let (Some(a), Some(b)) = (f.birth_year, o.birth_year) {
        let gap = (a - b).abs();
        if gap == 0 {
            likeness += 0.1;
            reasons.push(format!("same birth year {a}"));
        } else if gap > 2 {
            likeness -= 0.2;
            reasons.push(format!("birth years differ ({a} / {b})"));
        }
    }
    if let (Some(a), Some(b)) = (f.place_of_origin, o.place_of_origin) {
        if a.to_lowercase() == b.to_lowercase() {
            likeness += 0.05;
            reasons.push(format!("same place of origin ({a})"));
        }
    }
    if f.sex != Sex::Unknown && o.sex != Sex::Unknown && f.sex != o.sex {
        likeness *= 0.5;
        reasons.push("different sex".to_owned());
    }
    if f.facility_id.is_some() && f.facility_id == o.facility_id {
        likeness += 0.05;
        reasons.push("same facility".to_owned());
    }
    (likeness.clamp(0.0, 1.0), reasons)
}
