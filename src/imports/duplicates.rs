//! Possible duplicates of an import's new files: the organisation's files
//! and the rows imported before, through the same name keys and the same
//! likeness (`search::duplicates`) as `GET /detainees/{id}/duplicates` —
//! held in memory for the job, since one index lookup a row against the
//! database would cost more than the import. Reported, never merged.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use uuid::Uuid;

use crate::db::DbConnection;
use crate::detainees::model::{DetaineeFields, Sex};
use crate::detainees::scope::FileScope;
use crate::detainees::store::{self as files, DetaineeFilter};
use crate::error::AppError;
use crate::search::duplicates::{likeness_of, Person, MIN_DUPLICATE_SCORE};
use crate::search::keys::{file_keys, query_keys, select_candidates};
use crate::search::names::{named_fields, tokens};

/// Candidates scored a row at most, those sharing the most name parts
/// first and, among equals, those born the same year: the scoring is what
/// costs, and the person sought shares the most specific keys.
const SCORED: usize = 20;

/// A person already known to the job: a file of the organisation, or a
/// row imported before.
struct Known {
    /// `SJL-000123`, or `row 17 (SJL-000456)`.
    label: String,
    full_name: String,
    name_ar: Option<String>,
    aliases: Vec<String>,
    birth_year: Option<i32>,
    place_of_origin: Option<String>,
    sex: Sex,
    facility_id: Option<Uuid>,
}

impl Known {
    fn person(&self) -> Person<'_> {
        Person {
            names: named_fields(&self.full_name, self.name_ar.as_deref(), &self.aliases),
            birth_year: self.birth_year,
            place_of_origin: self.place_of_origin.as_deref(),
            sex: self.sex,
            facility_id: self.facility_id,
        }
    }
}

/// The best match found for a row.
#[derive(Debug, Clone, PartialEq)]
pub struct PossibleDuplicate {
    pub label: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

pub struct DuplicateFinder {
    people: Vec<Known>,
    /// Name key (hashed) → people indexed under it, in the order added.
    postings: HashMap<u64, Vec<u32>>,
}

fn hashed(key: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

impl DuplicateFinder {
    pub fn empty() -> Self {
        DuplicateFinder {
            people: Vec::new(),
            postings: HashMap::new(),
        }
    }

    /// The organisation's files that are not archived, read a page at a time.
    pub fn load(conn: &mut DbConnection, organization: Uuid) -> Result<Self, AppError> {
        let mut finder = DuplicateFinder::empty();
        let scope = FileScope::Organization(organization);
        let filter = DetaineeFilter::default();
        let mut after = None;
        loop {
            let page = files::list(conn, scope, &filter, after, 5_000)?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for file in page {
                finder.add(file.reference, &file.fields);
            }
        }
        Ok(finder)
    }

    /// Know `fields` from now on, as `label`.
    pub fn add(&mut self, label: String, fields: &DetaineeFields) {
        let index = u32::try_from(self.people.len()).unwrap_or(u32::MAX);
        let names = named_fields(
            &fields.full_name,
            fields.name_ar.as_deref(),
            &fields.aliases,
        );
        for key in file_keys(&names) {
            self.postings.entry(hashed(&key)).or_default().push(index);
        }
        self.people.push(Known {
            label,
            full_name: fields.full_name.clone(),
            name_ar: fields.name_ar.clone(),
            aliases: fields.aliases.clone(),
            birth_year: fields.birth_date.map(|d| d.year()),
            place_of_origin: fields.place_of_origin.clone(),
            sex: fields.sex,
            facility_id: fields.facility_id,
        });
    }

    /// The likeliest person already known who may be `fields`, if any
    /// scores `MIN_DUPLICATE_SCORE` or more.
    pub fn check(&self, fields: &DetaineeFields) -> Option<PossibleDuplicate> {
        if self.people.is_empty() {
            return None;
        }
        let row = Person::of(fields);
        let mut keys: Vec<String> = Vec::new();
        for (_, value) in &row.names {
            for key in query_keys(&tokens(value)) {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        let candidates: Vec<u32> = select_candidates(&keys, |key, limit, _| {
            Ok::<_, std::convert::Infallible>(Some(
                self.postings
                    .get(&hashed(key))
                    .map(|people| people.iter().take(limit).copied().collect())
                    .unwrap_or_default(),
            ))
        })
        .unwrap_or_default();
        let mut scored: Vec<&Known> = candidates
            .iter()
            .take(SCORED * 10)
            .map(|&i| &self.people[i as usize])
            .collect();
        // Stable: the order of shared parts holds among equals.
        scored
            .sort_by_key(|known| !(row.birth_year.is_some() && known.birth_year == row.birth_year));
        scored
            .into_iter()
            .take(SCORED)
            .filter_map(|known| {
                let (score, reasons) = likeness_of(&row, &known.person());
                (score >= MIN_DUPLICATE_SCORE).then(|| PossibleDuplicate {
                    label: known.label.clone(),
                    score: (score * 1000.0).round() / 1000.0,
                    reasons,
                })
            })
            .max_by(|a, b| a.score.total_cmp(&b.score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(full_name: &str, name_ar: Option<&str>, born: &str) -> DetaineeFields {
        DetaineeFields {
            full_name: full_name.into(),
            name_ar: name_ar.map(str::to_owned),
            birth_date: born.parse().ok(),
            ..DetaineeFields::blank()
        }
    }

    #[test]
    fn another_spelling_or_script_is_found_and_a_stranger_is_not() {
        let mut finder = DuplicateFinder::empty();
        finder.add(
            "SJL-000001".into(),
            &person("Mohammed Ahmad Al-Hassan", Some("محمد أحمد الحسن"), "1980"),
        );
        finder.add(
            "SJL-000002".into(),
            &person("Rim Rabih Azzar", None, "1956"),
        );
        let found = finder
            .check(&person("Muhammad Ahmed Alhasan", None, "1980"))
            .unwrap();
        assert_eq!(found.label, "SJL-000001");
        assert!(found.score >= MIN_DUPLICATE_SCORE, "{found:?}");
        let arabic = finder
            .check(&person("محمد أحمد الحسن", None, "1980"))
            .unwrap();
        assert_eq!(arabic.label, "SJL-000001");
        assert_eq!(
            finder.check(&person("Samer Khaled Idlibi", None, "1990")),
            None
        );
    }
}
