//! One record of a list read into a change of a file: which column holds
//! which field (`Layout`: the headers' rules, or a saved mapping), each
//! cell read by the value rules, facilities found by id or exact name. The
//! result is a `DetaineePatch` — the same change an edit sends — so that a
//! new file and an existing one go through the one validation of a file's
//! content. Only cells with a value set anything: an import never erases
//! what a caseworker wrote because a list left a cell empty.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::columns::{column_of, joined_name, Column, Field, NamePart};
use super::mapping::Mapping;
use super::values::{self, read_date, read_enum, Unreadable};
use crate::detainees::export::SERVER_OWNED_COLUMNS;
use crate::detainees::model::{DetaineeFields, DetaineePatch};
use crate::error::AppError;

/// A problem with one row (or, at row 1, with a header), for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The header as the file writes it, or the field's name.
    pub column: String,
    pub code: &'static str,
    pub message: String,
}

impl RowProblem {
    pub fn new(column: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        RowProblem {
            column: column.into(),
            code,
            message: message.into(),
        }
    }

    /// A refusal of the file's own rules (`DetaineeFields::validated`, the
    /// release gate), on the column of the field it names.
    pub fn refused(layout: &Layout, headers: &[String], error: &AppError) -> Self {
        let detail = error.to_string();
        let field = match error {
            // The release gate is about the status.
            AppError::Conflict {
                code: crate::error::Code::ReviewRequired,
                ..
            } => "status",
            _ => detail.split([' ', ':']).next().unwrap_or_default(),
        };
        let column = layout
            .header_of(field, headers)
            .unwrap_or_else(|| field.to_owned());
        let code = match error {
            AppError::Conflict { code, .. } => code.as_str(),
            _ => "invalid_value",
        };
        RowProblem::new(column, code, detail)
    }
}

/// Which column holds which field, resolved header by header as the file
/// names them (a JSON Lines file names its keys line by line).
pub struct Layout {
    mapping: Option<Mapping>,
    resolved: Vec<Option<Column>>,
    /// Headers that no rule and no mapping know: reported once each.
    unknown: Vec<String>,
}

impl Layout {
    pub fn new(mapping: Option<Mapping>) -> Self {
        Layout {
            mapping,
            resolved: Vec::new(),
            unknown: Vec::new(),
        }
    }

    /// Resolve every header seen so far; returns those newly found unknown.
    pub fn resolve(&mut self, headers: &[String]) -> Vec<(usize, String)> {
        let mut newly_unknown = Vec::new();
        while self.resolved.len() < headers.len() {
            let index = self.resolved.len();
            let header = &headers[index];
            let column = self
                .mapping
                .as_ref()
                .and_then(|m| m.column(header))
                .or_else(|| column_of(header));
            if column.is_none()
                && !SERVER_OWNED_COLUMNS.contains(&header.trim())
                && !self.mapping.as_ref().is_some_and(|m| m.ignores(header))
            {
                self.unknown.push(header.clone());
                newly_unknown.push((index, header.clone()));
            }
            self.resolved.push(column);
        }
        newly_unknown
    }

    /// Two columns whose headers read the same (folded as cells are:
    /// `full_name`, `Full Name`, `sex` and `sex `) and name a field, as
    /// `(first, second)`: which of the two holds it? Columns no rule knows
    /// are left out anyway, and may repeat. (Two different headers of one
    /// field, `name` and `full_name`, are not repeats: the first with a
    /// value is read.)
    pub fn repeated(&self, headers: &[String]) -> Option<(usize, usize)> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, header) in headers.iter().enumerate() {
            if self.column(index).is_none() {
                continue;
            }
            match seen.entry(values::folded(header)) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    return Some((*first.get(), index))
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(index);
                }
            }
        }
        None
    }

    fn column(&self, index: usize) -> Option<Column> {
        self.resolved.get(index).copied().flatten()
    }

    /// The header that holds `field` (by the field's API name), if any.
    pub fn header_of(&self, field: &str, headers: &[String]) -> Option<String> {
        let wanted = column_of(field)?;
        self.resolved
            .iter()
            .position(|c| *c == Some(wanted))
            .and_then(|i| headers.get(i).cloned())
    }

    fn constants(&self) -> &[(Column, String)] {
        self.mapping.as_ref().map_or(&[], |m| m.constants())
    }
}

/// The registered facilities, found by id or by exact name (trimmed) in
/// either script. A name two facilities share names neither.
pub struct Facilities {
    ids: HashSet<Uuid>,
    names: HashMap<String, Option<Uuid>>,
}

impl Facilities {
    pub fn new(facilities: impl IntoIterator<Item = (Uuid, String, Option<String>)>) -> Self {
        let mut ids = HashSet::new();
        let mut names: HashMap<String, Option<Uuid>> = HashMap::new();
        for (id, name, name_ar) in facilities {
            ids.insert(id);
            for name in std::iter::once(name).chain(name_ar) {
                names
                    .entry(name.trim().to_owned())
                    .and_modify(|found| {
                        if *found != Some(id) {
                            *found = None
                        }
                    })
                    .or_insert(Some(id));
            }
        }
        Facilities { ids, names }
    }

    fn find(&self, text: &str) -> Result<Uuid, (&'static str, String)> {
        let text = text.trim();
        if let Ok(id) = text.parse::<Uuid>() {
            return if self.ids.contains(&id) {
                Ok(id)
            } else {
                Err((
                    "unknown_facility",
                    format!("no registered facility has the id {id}"),
                ))
            };
        }
        match self.names.get(text) {
            Some(Some(id)) => Ok(*id),
            Some(None) => Err((
                "ambiguous_facility",
                format!("`{text}` names more than one registered facility: use its id"),
            )),
            None => Err((
                "unknown_facility",
                format!("no registered facility is named `{text}` (names are matched exactly)"),
            )),
        }
    }
}

/// A record read: the change it makes to a file, its external reference.
#[derive(Debug, Default)]
pub struct ReadRow {
    pub patch: DetaineePatch,
}

impl ReadRow {
    pub fn external_ref(&self) -> Option<&str> {
        self.patch.external_ref.as_ref().and_then(|r| r.as_deref())
    }

    /// The content of a new file from this row: a file with only an Arabic
    /// name takes it as its `full_name` too (names are in any script).
    pub fn new_file(&self) -> Result<(DetaineeFields, Option<String>), AppError> {
        let mut patch = self.patch.clone();
        if patch.full_name.is_none() {
            patch.full_name = patch.name_ar.clone().flatten();
        }
        patch.apply(&DetaineeFields::blank(), &None)
    }
}

/// Read one record by `layout`: the change it makes, or every problem
/// found in it (all of them, so that one round of fixes is enough).
pub fn read_record(
    layout: &Layout,
    headers: &[String],
    cells: &[(usize, String)],
    facilities: &Facilities,
) -> Result<ReadRow, Vec<RowProblem>> {
    let mut patch = DetaineePatch::default();
    let mut parts: Vec<(NamePart, &str)> = Vec::new();
    let mut problems = Vec::new();
    let mut filled: HashSet<Column> = HashSet::new();
    let from_cells = cells.iter().filter_map(|(index, text)| {
        let column = layout.column(*index)?;
        Some((column, headers.get(*index)?.as_str(), text.as_str()))
    });
    let constants = layout
        .constants()
        .iter()
        .map(|(column, text)| (*column, "(mapping constant)", text.as_str()));
    let mut cells_then_constants: Vec<(Column, &str, &str)> = from_cells.collect();
    let cell_columns: HashSet<Column> = cells_then_constants.iter().map(|c| c.0).collect();
    cells_then_constants.extend(constants.filter(|(column, _, _)| !cell_columns.contains(column)));
    for (column, header, text) in cells_then_constants {
        // Two columns for one field (`name` and `full name`): the first
        // with a value counts.
        if !matches!(column, Column::NamePart(_)) && !filled.insert(column) {
            continue;
        }
        let refuse = |problems: &mut Vec<RowProblem>, e: Unreadable| {
            problems.push(RowProblem::new(header, "unreadable_value", e.to_string()))
        };
        match column {
            Column::NamePart(part) => parts.push((part, text)),
            Column::Field(field) => match field {
                Field::FullName => patch.full_name = Some(text.to_owned()),
                Field::NameAr => patch.name_ar = Some(Some(text.to_owned())),
                Field::Aliases => patch.aliases = Some(aliases(text)),
                Field::Sex => match read_enum(text, values::SEX, "a sex") {
                    Ok(value) => patch.sex = value,
                    Err(e) => refuse(&mut problems, e),
                },
                Field::Status => match read_enum(text, values::STATUS, "a status") {
                    Ok(value) => patch.status = value,
                    Err(e) => refuse(&mut problems, e),
                },
                Field::Category => match read_enum(text, values::CATEGORY, "a category") {
                    Ok(value) => patch.category = value,
                    Err(e) => refuse(&mut problems, e),
                },
                Field::MajorCrimesAccusation => {
                    match read_enum(text, values::YES_NO, "yes or no") {
                        Ok(value) => patch.major_crimes_accusation = value,
                        Err(e) => refuse(&mut problems, e),
                    }
                }
                Field::BirthDate | Field::DetainedOn | Field::LastSeenOn | Field::ReleasedOn => {
                    match read_date(text) {
                        Ok(date) => {
                            let slot = match field {
                                Field::BirthDate => &mut patch.birth_date,
                                Field::DetainedOn => &mut patch.detained_on,
                                Field::LastSeenOn => &mut patch.last_seen_on,
                                _ => &mut patch.released_on,
                            };
                            *slot = date.map(Some);
                        }
                        Err(e) => refuse(&mut problems, e),
                    }
                }
                Field::Facility => match facilities.find(text) {
                    Ok(id) => patch.facility_id = Some(Some(id)),
                    Err((code, message)) => problems.push(RowProblem::new(header, code, message)),
                },
                Field::PlaceOfOrigin => patch.place_of_origin = Some(Some(text.to_owned())),
                Field::AccusationSummary => patch.accusation_summary = Some(Some(text.to_owned())),
                Field::Notes => patch.notes = Some(Some(text.to_owned())),
                Field::SourceNotes => patch.source_notes = Some(Some(text.to_owned())),
                Field::ExternalRef => patch.external_ref = Some(Some(text.trim().to_owned())),
            },
        }
    }
    if let Some(name) = joined_name(&parts) {
        // Parts in Arabic script make the Arabic name; in Latin, the name.
        if is_arabic(&name) {
            patch.name_ar.get_or_insert(Some(name));
        } else {
            patch.full_name.get_or_insert(name);
        }
    }
    if problems.is_empty() {
        Ok(ReadRow { patch })
    } else {
        Err(problems)
    }
}

/// A mapping's constants are read as cells would be: refuse one no rule
/// reads when the mapping is saved, not on every row of every import.
/// (Facilities are looked up when a job runs: the registry changes.)
pub fn check_constants(mapping: &Mapping) -> Result<(), AppError> {
    let layout = Layout::new(Some(mapping.clone()));
    match read_record(&layout, &[], &[], &Facilities::new([])) {
        Err(problems) => match problems
            .iter()
            .find(|p| !matches!(p.code, "unknown_facility" | "ambiguous_facility"))
        {
            Some(problem) => Err(AppError::validation(format!(
                "constants: {}",
                problem.message
            ))),
            None => Ok(()),
        },
        Ok(_) => Ok(()),
    }
}

fn is_arabic(text: &str) -> bool {
    let arabic = text
        .chars()
        .filter(|c| ('\u{0600}'..='\u{06FF}').contains(c))
        .count();
    arabic * 2 > text.chars().filter(|c| c.is_alphabetic()).count()
}

/// Aliases as the export writes them (a JSON array), or separated by `;`,
/// `|` or the Arabic comma `،`.
fn aliases(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
            return list;
        }
    }
    text.split([';', '|', '،'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detainees::model::{DetaineeStatus, Sex};

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|h| (*h).to_owned()).collect()
    }

    #[test]
    fn arabic_headers_name_parts_and_values_as_written() {
        let prison = Uuid::now_v7();
        let facilities = Facilities::new([(prison, "Sednaya".into(), Some("سجن صيدنايا".into()))]);
        let headers = headers(&[
            "الرقم المرجعي",
            "الاسم",
            "اسم الأب",
            "الكنية",
            "الجنس",
            "الحالة",
            "تاريخ الاعتقال",
            "مكان الاحتجاز",
            "id",
        ]);
        let mut layout = Layout::new(None);
        assert!(layout.resolve(&headers).is_empty());
        let cells: Vec<(usize, String)> = [
            "SN-1",
            "محمد",
            "أحمد",
            "الحلبي",
            "ذكر",
            "مختفي قسرياً",
            "أيار ٢٠١٣",
            " سجن صيدنايا ",
            "ignored",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| (i, (*t).to_owned()))
        .collect();
        let row = read_record(&layout, &headers, &cells, &facilities).unwrap();
        assert_eq!(row.external_ref(), Some("SN-1"));
        let (fields, _) = row.new_file().unwrap();
        assert_eq!(fields.name_ar.as_deref(), Some("محمد أحمد الحلبي"));
        assert_eq!(fields.full_name, "محمد أحمد الحلبي");
        assert_eq!(fields.sex, Sex::Male);
        assert_eq!(fields.status, DetaineeStatus::Disappeared);
        assert_eq!(fields.detained_on.unwrap().to_string(), "2013-05");
        assert_eq!(fields.facility_id, Some(prison));
    }

    #[test]
    fn headers_that_read_the_same_and_name_a_field_are_repeats() {
        let mut layout = Layout::new(None);
        let known = headers(&["name", "Remarks", "remarks", "", "", "full_name", "sex "]);
        layout.resolve(&known);
        // `name` and `full_name` are two headers of one field, not repeats;
        // unknown and blank columns may repeat.
        assert_eq!(layout.repeated(&known), None);
        let more = headers(&[
            "name",
            "Remarks",
            "remarks",
            "",
            "",
            "full_name",
            "sex ",
            "Sex",
        ]);
        layout.resolve(&more);
        assert_eq!(layout.repeated(&more), Some((6, 7)));
    }

    #[test]
    fn every_problem_of_a_row_is_named_with_its_column() {
        let facilities = Facilities::new([]);
        let headers = headers(&["name", "تاريخ الاعتقال", "السجن", "الجنس", "mystery"]);
        let mut layout = Layout::new(None);
        assert_eq!(layout.resolve(&headers), [(4, "mystery".to_owned())]);
        let cells = vec![
            (0, "A B".to_owned()),
            (1, "spring 2013".to_owned()),
            (2, "Nowhere".to_owned()),
            (3, "?".to_owned()),
            (4, "x".to_owned()),
        ];
        let problems = read_record(&layout, &headers, &cells, &facilities).unwrap_err();
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.column.as_str(), p.code))
            .collect();
        assert_eq!(
            found,
            [
                ("تاريخ الاعتقال", "unreadable_value"),
                ("السجن", "unknown_facility"),
                ("الجنس", "unreadable_value")
            ]
        );
        assert!(problems[0].message.contains("spring 2013"));
    }

    #[test]
    fn a_constant_no_rule_reads_is_refused() {
        let definition = |value: &str| crate::imports::mapping::MappingDefinition {
            name: "x".into(),
            columns: Default::default(),
            constants: [("status".to_owned(), value.to_owned())].into(),
        };
        let mapping = |value| Mapping::from_definition(&definition(value)).unwrap();
        assert!(check_constants(&mapping("مختفي قسرياً")).is_ok());
        assert!(check_constants(&mapping("spring")).is_err());
    }

    #[test]
    fn every_column_of_an_export_is_a_field_or_the_servers() {
        use crate::detainees::export::CSV_COLUMNS;
        for column in CSV_COLUMNS {
            assert!(
                column_of(column).is_some() != SERVER_OWNED_COLUMNS.contains(&column),
                "{column}: an import must read it, or leave it out as the server's"
            );
        }
    }

    #[test]
    fn aliases_from_an_export_or_a_list() {
        assert_eq!(
            aliases("[\"Abu Ahmad\",\"أبو أحمد\"]"),
            ["Abu Ahmad", "أبو أحمد"]
        );
        assert_eq!(
            aliases("Abu Ahmad; أبو أحمد ،X"),
            ["Abu Ahmad", "أبو أحمد", "X"]
        );
    }

    #[test]
    fn a_facility_name_two_share_names_neither() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let facilities = Facilities::new([
            (a, "Central Prison".into(), None),
            (b, "Central Prison".into(), None),
        ]);
        assert_eq!(
            facilities.find("Central Prison").unwrap_err().0,
            "ambiguous_facility"
        );
        assert_eq!(facilities.find(&a.to_string()).unwrap(), a);
    }
}
