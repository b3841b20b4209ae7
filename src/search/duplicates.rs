//! Likely duplicate files: the same name machinery, plus birth date, place
//! of origin, sex and facility, each hit with its reasons.

use super::names::{score, tokens, NameToken};
use crate::detainees::Detainee;

/// Below this, two files are not proposed as duplicates.
pub const MIN_DUPLICATE_SCORE: f64 = 0.6;

/// How likely `other` is the same person as `file`, and why.
pub fn likeness(file: &Detainee, other: &Detainee) -> (f64, Vec<String>) {
    let ours: Vec<(&str, Vec<NameToken>)> = file
        .names()
        .into_iter()
        .map(|(f, v)| (f, tokens(v)))
        .collect();
    let theirs: Vec<(&str, Vec<NameToken>)> = other
        .names()
        .into_iter()
        .map(|(f, v)| (f, tokens(v)))
        .collect();
    let mut best = (0.0, "", "", 0usize);
    for (field_a, a) in &ours {
        for (field_b, b) in &theirs {
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
    let (f, o) = (&file.fields, &other.fields);
    if let (Some(a), Some(b)) = (f.birth_date, o.birth_date) {
        let gap = (a.year() - b.year()).abs();
        if gap == 0 {
            likeness += 0.1;
            reasons.push(format!("same birth year {}", a.year()));
        } else if gap > 2 {
            likeness -= 0.2;
            reasons.push(format!("birth years differ ({} / {})", a.year(), b.year()));
        }
    }
    if let (Some(a), Some(b)) = (&f.place_of_origin, &o.place_of_origin) {
        if a.to_lowercase() == b.to_lowercase() {
            likeness += 0.05;
            reasons.push(format!("same place of origin ({a})"));
        }
    }
    use crate::detainees::model::Sex;
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
