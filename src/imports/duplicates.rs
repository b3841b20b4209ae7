//! Possible duplicates of an import's new files: the organisation's files
//! and the rows imported before, through the same name keys and the same
//! likeness (`search::duplicates`) as `GET /detainees/{id}/duplicates` —
//! held in memory for the job, since one index lookup a row against the
//! database would cost more than the import. Reported, never merged.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use uuid::Uuid;

use crate::db::{Database, DbConnection};
use crate::detainees::model::{DetaineeFields, Sex};
use crate::detainees::scope::FileScope;
use crate::detainees::store::{self as files, DetaineeFilter};
use crate::error::AppError;
use crate::search::duplicates::{likeness_of, NameTokens, Person};
use crate::search::keys::{query_keys, PROBE_LIMIT};

/// Candidates scored a row at most, those sharing the most name parts
/// first and, among equals, those born the same year: the scoring is what
/// costs, and the person sought shares the most specific keys.
const SCORED: usize = 20;

/// An import reports a possible duplicate from this likeness up — higher
/// than `GET /detainees/{id}/duplicates` (0.6), which shows a person the
/// best twenty to look at: a report of thousands of rows must name only
/// the likely ones. And a name alone is not enough (a list of thousands
/// holds many people of one common name): the birth years must be known
/// and within two years of each other, or the places of origin the same.
pub const REPORTED_SCORE: f64 = 0.9;

/// Birth years further apart than this cannot reach `REPORTED_SCORE`:
/// such candidates are not scored.
const MAX_BIRTH_YEAR_GAP: i32 = 2;

/// Ends each part of `Known::text`. Names and places refuse control
/// characters (`domain`); one that held it anyway would only be split.
const END: char = '\0';

/// A person already known to the job: a file of the organisation, or a
/// row imported before. Held for every file of the organisation, so held
/// small: its texts in one allocation.
struct Known {
    /// The label (`SJL-000123`, or `row 17`), the full name, the Arabic
    /// name, the place of origin and each alias, each ended by `END`.
    text: Box<str>,
    birth_year: Option<i32>,
    sex: Sex,
    facility_id: Option<Uuid>,
}

impl Known {
    fn new(label: &str, fields: &DetaineeFields) -> Self {
        let mut text = String::new();
        let parts = [
            label,
            &fields.full_name,
            fields.name_ar.as_deref().unwrap_or(""),
            fields.place_of_origin.as_deref().unwrap_or(""),
        ];
        for part in parts
            .into_iter()
            .chain(fields.aliases.iter().map(String::as_str))
        {
            text.extend(part.chars().map(|c| if c == END { ' ' } else { c }));
            text.push(END);
        }
        Known {
            text: text.into_boxed_str(),
            birth_year: fields.birth_date.map(|d| d.year()),
            sex: fields.sex,
            facility_id: fields.facility_id,
        }
    }

    fn parts(&self) -> impl Iterator<Item = &str> {
        let text = self.text.strip_suffix(END).unwrap_or(&self.text);
        text.split(END)
    }

    fn label(&self) -> &str {
        self.parts().next().unwrap_or_default()
    }

    fn place_of_origin(&self) -> Option<&str> {
        self.parts().nth(3).filter(|p| !p.is_empty())
    }

    /// As `Person::of` would see the file.
    fn person(&self) -> Person<'_> {
        let mut parts = self.parts().skip(1);
        let full_name = parts.next().unwrap_or_default();
        let name_ar = parts.next().filter(|n| !n.is_empty());
        let place_of_origin = parts.next().filter(|p| !p.is_empty());
        // The order of `names::named_fields`.
        let mut names = vec![("full_name", full_name)];
        names.extend(name_ar.map(|n| ("name_ar", n)));
        names.extend(parts.map(|alias| ("aliases", alias)));
        Person {
            names,
            birth_year: self.birth_year,
            place_of_origin,
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

/// People read under one key at most: a list naming thousands of people
/// of one name, born the same year in one place, must not make each row
/// read all of them (the search's own limit, `keys::PROBE_LIMIT`).
const READ_PER_KEY: usize = PROBE_LIMIT;

/// The candidates of a row, each once, in the order found.
#[derive(Default)]
struct Candidates {
    people: Vec<u32>,
    seen: HashSet<u32>,
}

impl Candidates {
    fn extend(&mut self, people: impl Iterator<Item = u32>) {
        for person in people.take(READ_PER_KEY) {
            if self.seen.insert(person) {
                self.people.push(person);
            }
        }
    }
}

/// No further posting.
const NONE: u32 = u32::MAX;

/// Hashed key → the people indexed under it, in the order added, as
/// chained postings: a table entry a key and 8 bytes a posting. (A vector
/// a key cost several times that: most keys, a name's triples, hold one
/// or two people.)
#[derive(Default)]
struct Postings {
    /// Key → its first and last posting.
    keys: HashMap<u64, (u32, u32)>,
    /// A person, and the key's next posting (`NONE` after the last).
    chain: Vec<(u32, u32)>,
}

impl Postings {
    fn push(&mut self, key: u64, person: u32) {
        let at = u32::try_from(self.chain.len()).unwrap_or(NONE);
        self.chain.push((person, NONE));
        match self.keys.entry(key) {
            Entry::Occupied(mut ends) => {
                let last = &mut ends.get_mut().1;
                self.chain[*last as usize].1 = at;
                *last = at;
            }
            Entry::Vacant(ends) => {
                ends.insert((at, at));
            }
        }
    }

    fn people(&self, key: u64) -> impl Iterator<Item = u32> + '_ {
        let mut next = self.keys.get(&key).map_or(NONE, |ends| ends.0);
        std::iter::from_fn(move || {
            let (person, after) = *self.chain.get(next as usize)?;
            next = after;
            Some(person)
        })
    }
}

pub struct DuplicateFinder {
    people: Vec<Known>,
    /// A name's most specific keys (all its parts, up to three) with a
    /// birth year (`None` for an unknown year) → people. Most rows have a
    /// birth year, and a likely duplicate was born within two years: these
    /// few candidates are found at once, however common the name (a common
    /// name's plain keys hold too many people to read).
    by_year: Postings,
    /// The same keys with a place of origin → people who have one. A row
    /// without a birth year is reported only with the same place of
    /// origin (`REPORTED_SCORE`): its candidates are here. (Every name key
    /// of every file, as the database's index holds them, took several
    /// times the memory for these rows alone.)
    by_place: Postings,
}

/// A place of origin as the likeness compares it.
fn place_key(place: &str) -> String {
    place.trim().to_lowercase()
}

fn hashed_with_place(key: &str, place: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    place_key(place).hash(&mut hasher);
    hasher.finish()
}

fn hashed_with_year(key: &str, year: Option<i32>) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    year.hash(&mut hasher);
    hasher.finish()
}

/// The most specific keys of a person's names: for each name, the keys
/// combining the most parts (`keys::query_keys` lists them first).
fn most_specific_keys(names: &NameTokens) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (_, name) in names {
        let all = query_keys(name);
        let widest = all.first().map_or(0, |k| k.split(' ').count());
        for key in all
            .into_iter()
            .take_while(|k| k.split(' ').count() == widest)
        {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

impl DuplicateFinder {
    pub fn empty() -> Self {
        DuplicateFinder {
            people: Vec::new(),
            by_year: Postings::default(),
            by_place: Postings::default(),
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
                finder.add(&file.reference, &file.fields);
            }
        }
        Ok(finder)
    }

    /// Know `fields` from now on, as `label`.
    pub fn add(&mut self, label: &str, fields: &DetaineeFields) {
        let names = Person::of(fields).name_tokens();
        self.add_read(label, fields, &names);
    }

    /// `add`, the names already read into tokens.
    fn add_read(&mut self, label: &str, fields: &DetaineeFields, names: &NameTokens) {
        let index = u32::try_from(self.people.len()).unwrap_or(NONE);
        let year = fields.birth_date.map(|d| d.year());
        let place = fields.place_of_origin.as_deref();
        for key in most_specific_keys(names) {
            self.by_year.push(hashed_with_year(&key, year), index);
            if let Some(place) = place {
                self.by_place.push(hashed_with_place(&key, place), index);
            }
        }
        self.people.push(Known::new(label, fields));
    }

    /// The likeliest person already known who may be `fields`, if any
    /// scores `REPORTED_SCORE` or more; known as `label` from then on.
    pub fn check_and_add(
        &mut self,
        label: &str,
        fields: &DetaineeFields,
    ) -> Option<PossibleDuplicate> {
        let row = Person::of(fields);
        let names = row.name_tokens();
        let found = self.likeliest(&row, &names);
        self.add_read(label, fields, &names);
        found
    }

    /// The likeliest person already known who may be `fields`, if any,
    /// without knowing it afterwards (the tests' question; a job asks
    /// `check_and_add`).
    #[cfg(test)]
    fn check(&self, fields: &DetaineeFields) -> Option<PossibleDuplicate> {
        let row = Person::of(fields);
        self.likeliest(&row, &row.name_tokens())
    }

    fn likeliest(&self, row: &Person, row_tokens: &NameTokens) -> Option<PossibleDuplicate> {
        if self.people.is_empty() {
            return None;
        }
        let candidates: Vec<u32> = match row.birth_year {
            // Born within two years, or in an unknown year, under the
            // name's most specific keys.
            Some(year) => {
                let mut found = Candidates::default();
                for key in most_specific_keys(row_tokens) {
                    let years = (year - MAX_BIRTH_YEAR_GAP..=year + MAX_BIRTH_YEAR_GAP)
                        .map(Some)
                        .chain([None]);
                    for year in years {
                        found.extend(self.by_year.people(hashed_with_year(&key, year)));
                    }
                }
                let mut found = found.people;
                // Nearest years first, the most recently known first among those.
                found.sort_by_key(|&i| {
                    let gap = self.people[i as usize]
                        .birth_year
                        .map_or(MAX_BIRTH_YEAR_GAP + 1, |b| (b - year).abs());
                    (gap, std::cmp::Reverse(i))
                });
                found
            }
            // Otherwise from the same place, under the same keys; without
            // a place either, nobody could be reported.
            None => {
                let place = row.place_of_origin?;
                let mut found = Candidates::default();
                for key in most_specific_keys(row_tokens) {
                    found.extend(self.by_place.people(hashed_with_place(&key, place)));
                }
                let mut found = found.people;
                // The most recently known first.
                found.sort_by_key(|&i| std::cmp::Reverse(i));
                found
            }
        };
        let born_apart = |known: &&Known| match (row.birth_year, known.birth_year) {
            (Some(a), Some(b)) => (a - b).abs() > MAX_BIRTH_YEAR_GAP,
            _ => false,
        };
        let mut scored: Vec<&Known> = candidates
            .iter()
            .take(SCORED * 10)
            .map(|&i| &self.people[i as usize])
            .filter(|known| !born_apart(known))
            .collect();
        // Stable: the order of shared parts holds among equals.
        scored
            .sort_by_key(|known| !(row.birth_year.is_some() && known.birth_year == row.birth_year));
        scored
            .into_iter()
            .take(SCORED)
            .filter(|known| {
                let born_near = matches!(
                    (row.birth_year, known.birth_year),
                    (Some(a), Some(b)) if (a - b).abs() <= MAX_BIRTH_YEAR_GAP
                );
                let same_place = match (row.place_of_origin, known.place_of_origin()) {
                    (Some(a), Some(b)) => place_key(a) == place_key(b),
                    _ => false,
                };
                born_near || same_place
            })
            .filter_map(|known| {
                let person = known.person();
                let (score, reasons) = likeness_of(row, row_tokens, &person, &person.name_tokens());
                (score >= REPORTED_SCORE).then(|| PossibleDuplicate {
                    label: known.label().to_owned(),
                    score: (score * 1000.0).round() / 1000.0,
                    reasons,
                })
            })
            .max_by(|a, b| a.score.total_cmp(&b.score))
    }
}

/// New files of a batch: their row and fields.
pub type NewRows = Vec<(u64, DetaineeFields)>;

/// A job's duplicate search, on a thread of its own below the priority of
/// requests (`priority`), holding the finder for the job's whole run: a
/// batch's new files are sent before the batch is written and what was
/// found received after, so the search and the writes run side by side.
/// (One thread for the job, not one a batch: the finder's memory stays
/// with one thread's allocations.)
pub struct DuplicateSearch {
    rows: SyncSender<NewRows>,
    found: Receiver<Vec<(u64, PossibleDuplicate)>>,
}

impl DuplicateSearch {
    /// Start the search for a job importing into `organization`: the
    /// organisation's files are loaded first, by the caller — before any
    /// batch's transaction opens, so that no write waits on the load and
    /// the job needs one connection at a time.
    pub fn start(db: &Database, organization: Uuid) -> Result<Self, AppError> {
        let mut finder = db.read_blocking(|conn| DuplicateFinder::load(conn, organization))?;
        let (rows, rows_in) = sync_channel::<NewRows>(1);
        let (found_out, found) = sync_channel(1);
        std::thread::Builder::new()
            .name("import-duplicates".into())
            .spawn(move || {
                super::priority::lower_this_thread();
                // Until the job drops its end.
                for batch in rows_in {
                    let found = batch
                        .iter()
                        .filter_map(|(row, fields)| {
                            let label = format!("row {row}");
                            Some((*row, finder.check_and_add(&label, fields)?))
                        })
                        .collect();
                    if found_out.send(found).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| {
                AppError::internal_msg(format!("no thread for the duplicate search: {e}"))
            })?;
        Ok(DuplicateSearch { rows, found })
    }

    /// Look for possible duplicates of a batch's new files, each known
    /// from then on; `receive` gives what was found.
    pub fn send(&self, rows: NewRows) -> Result<(), AppError> {
        self.rows
            .send(rows)
            .map_err(|_| AppError::internal_msg("the duplicate search stopped"))
    }

    /// The possible duplicates of the batch sent last, by row.
    pub fn receive(&self) -> Result<Vec<(u64, PossibleDuplicate)>, AppError> {
        self.found
            .recv()
            .map_err(|_| AppError::internal_msg("the duplicate search stopped"))
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
    fn postings_keep_the_order_people_were_added_in() {
        let mut postings = Postings::default();
        for (key, person) in [(1, 10), (2, 20), (1, 11), (1, 12), (2, 21)] {
            postings.push(key, person);
        }
        assert_eq!(postings.people(1).collect::<Vec<_>>(), [10, 11, 12]);
        assert_eq!(postings.people(2).collect::<Vec<_>>(), [20, 21]);
        assert_eq!(postings.people(3).count(), 0);
    }

    #[test]
    fn a_known_person_gives_back_what_was_added() {
        let mut fields = person("Rim Rabih Azzar", None, "1956");
        fields.aliases = vec!["Reem Azar".into(), "ريم عزار".into()];
        let known = Known::new("row 3", &fields);
        let seen = known.person();
        assert_eq!(known.label(), "row 3");
        assert_eq!(
            seen.names,
            [
                ("full_name", "Rim Rabih Azzar"),
                ("aliases", "Reem Azar"),
                ("aliases", "ريم عزار")
            ]
        );
        assert_eq!((seen.birth_year, seen.place_of_origin), (Some(1956), None));
        fields.name_ar = Some("ريم ربيع عزار".into());
        fields.place_of_origin = Some("حمص".into());
        fields.aliases.clear();
        let known = Known::new("SJL-000009", &fields);
        assert_eq!(known.place_of_origin(), Some("حمص"));
        assert_eq!(
            known.person().names,
            [
                ("full_name", "Rim Rabih Azzar"),
                ("name_ar", "ريم ربيع عزار")
            ]
        );
    }

    #[test]
    fn a_list_naming_a_person_twice_is_heard() {
        let mut finder = DuplicateFinder::empty();
        let mut first = person("Anas Essam Naasan", Some("أنس عصام نعسان"), "1994");
        first.place_of_origin = Some("دير الزور".into());
        finder.add("row 7046", &first);
        let mut again = person("Anas Issam Naasan", Some("أنس عصام نعسان"), "1994");
        again.place_of_origin = Some("دير الزور".into());
        let found = finder.check(&again);
        assert_eq!(found.map(|f| f.label), Some("row 7046".to_owned()));
    }

    #[test]
    fn another_spelling_or_script_is_found_and_a_stranger_is_not() {
        let mut finder = DuplicateFinder::empty();
        finder.add(
            "SJL-000001",
            &person("Mohammed Ahmad Al-Hassan", Some("محمد أحمد الحسن"), "1980"),
        );
        finder.add("SJL-000002", &person("Rim Rabih Azzar", None, "1956"));
        let found = finder
            .check(&person("Muhammad Ahmed Alhasan", None, "1980"))
            .unwrap();
        assert_eq!(found.label, "SJL-000001");
        assert!(found.score >= REPORTED_SCORE, "{found:?}");
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
