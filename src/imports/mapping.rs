//! Saved mappings: how to read a list whose headers no rule knows
//! (`POST /import-mappings`, then `POST /imports?mapping=ID`). A mapping
//! names, for some headers, the field (or name part) the column holds, or
//! `null` to leave the column out; and constant values for fields the list
//! does not carry (a list of the disappeared: `status` is `disappeared`).
//! Headers it does not name are read by the usual rules. Constants are read
//! by the same value rules as cells (`"status": "مختفي قسرياً"` works;
//! `rows::check_constants` refuses one no rule reads when it is saved).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::columns::{column_of, Column, Field};
use super::values::folded;
use crate::db::schema::import_mappings;
use crate::db::{self, DbConnection};
use crate::domain::{parse_text, stored_uuid, MAX_NAME_CHARS};
use crate::error::AppError;

/// What a client sends and reads back.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "List of the disappeared, 2024",
    "columns": {"Nom": "full_name", "Prénom du père": "father_name", "Remarques": null},
    "constants": {"status": "disappeared"}
}))]
pub struct MappingDefinition {
    /// 1–200 characters.
    pub name: String,
    /// Header → the field's name (`full_name`, `detained_on`, `facility`,
    /// `external_ref` …), a name part (`given_name`, `father_name`,
    /// `grandfather_name`, `family_name`), or `null` to leave the column out.
    #[serde(default)]
    pub columns: BTreeMap<String, Option<String>>,
    /// Field → a value for every row whose cell is empty or absent.
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
}

/// A mapping ready to read with.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Folded header → its column, or `None` to leave it out.
    columns: Vec<(String, Option<Column>)>,
    constants: Vec<(Column, String)>,
}

impl Mapping {
    /// Check a definition: every target a known field, every constant
    /// readable by the value rules.
    pub fn from_definition(definition: &MappingDefinition) -> Result<Mapping, AppError> {
        parse_text("name", &definition.name, MAX_NAME_CHARS)?;
        if definition.columns.len() + definition.constants.len() > 200 {
            return Err(AppError::validation(
                "a mapping names at most 200 columns and constants",
            ));
        }
        let mut columns = Vec::new();
        for (header, target) in &definition.columns {
            parse_text("columns", header, MAX_NAME_CHARS)?;
            let column = match target {
                None => None,
                Some(target) => Some(column_of(target).ok_or_else(|| {
                    AppError::validation(format!(
                        "columns: `{target}` (for `{header}`) is not a field or name part"
                    ))
                })?),
            };
            columns.push((folded(header), column));
        }
        let mut constants = Vec::new();
        for (field, value) in &definition.constants {
            let column = column_of(field).ok_or_else(|| {
                AppError::validation(format!("constants: `{field}` is not a field"))
            })?;
            // Confidential text has no place in a mapping (it is shown and
            // audited in clear); one reference for every row makes no sense.
            if matches!(
                column,
                Column::Field(Field::SourceNotes | Field::ExternalRef)
            ) {
                return Err(AppError::validation(format!(
                    "constants: `{field}` cannot be a constant"
                )));
            }
            parse_text("constants", value, MAX_NAME_CHARS)?;
            constants.push((column, value.clone()));
        }
        let mapping = Mapping { columns, constants };
        Ok(mapping)
    }

    /// The column this mapping gives `header`, if it names it.
    pub fn column(&self, header: &str) -> Option<Column> {
        let header = folded(header);
        self.columns
            .iter()
            .find(|(known, _)| *known == header)
            .and_then(|(_, column)| *column)
    }

    /// Does this mapping leave `header` out on purpose?
    pub fn ignores(&self, header: &str) -> bool {
        let header = folded(header);
        self.columns
            .iter()
            .any(|(known, column)| *known == header && column.is_none())
    }

    pub fn constants(&self) -> &[(Column, String)] {
        &self.constants
    }
}

/// A saved mapping.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedMapping {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// As sent (not flattened: the definition refuses members it does not
    /// know, and the saved mapping has more).
    pub definition: MappingDefinition,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = import_mappings)]
struct MappingRow {
    id: String,
    organization_id: String,
    definition: String,
    created_by: String,
    created_at: chrono::NaiveDateTime,
}

impl TryFrom<MappingRow> for SavedMapping {
    type Error = AppError;
    fn try_from(row: MappingRow) -> Result<Self, AppError> {
        Ok(SavedMapping {
            id: stored_uuid(&row.id)?,
            organization_id: stored_uuid(&row.organization_id)?,
            definition: serde_json::from_str(&row.definition).map_err(AppError::internal)?,
            created_by: stored_uuid(&row.created_by)?,
            created_at: db::to_utc(row.created_at),
        })
    }
}

/// Store a mapping (its `import.mapping_create` entry is the caller's).
pub fn insert(conn: &mut DbConnection, mapping: &SavedMapping) -> Result<(), AppError> {
    let definition = serde_json::to_string(&mapping.definition).map_err(AppError::internal)?;
    diesel::insert_into(import_mappings::table)
        .values((
            import_mappings::id.eq(mapping.id.to_string()),
            import_mappings::organization_id.eq(mapping.organization_id.to_string()),
            import_mappings::name.eq(&mapping.definition.name),
            import_mappings::definition.eq(&definition),
            import_mappings::created_by.eq(mapping.created_by.to_string()),
            import_mappings::created_at.eq(mapping.created_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The organisation's mapping `id`.
pub fn find(
    conn: &mut DbConnection,
    organization: Uuid,
    id: Uuid,
) -> Result<Option<SavedMapping>, AppError> {
    import_mappings::table
        .filter(import_mappings::id.eq(id.to_string()))
        .filter(import_mappings::organization_id.eq(organization.to_string()))
        .select(MappingRow::as_select())
        .first(conn)
        .optional()?
        .map(SavedMapping::try_from)
        .transpose()
}

/// The organisation's mapping `id`, ready to read a list with: `None`
/// when the organisation has none by that id.
pub fn load(
    conn: &mut DbConnection,
    organization: Uuid,
    id: Uuid,
) -> Result<Option<Mapping>, AppError> {
    find(conn, organization, id)?
        .map(|saved| Mapping::from_definition(&saved.definition))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imports::columns::NamePart;

    fn definition(
        columns: &[(&str, Option<&str>)],
        constants: &[(&str, &str)],
    ) -> MappingDefinition {
        MappingDefinition {
            name: "a list".into(),
            columns: columns
                .iter()
                .map(|(h, t)| ((*h).to_owned(), t.map(str::to_owned)))
                .collect(),
            constants: constants
                .iter()
                .map(|(f, v)| ((*f).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn targets_and_constants_are_checked_when_saved() {
        let mapping = Mapping::from_definition(&definition(
            &[
                ("Nom", Some("full_name")),
                ("Père", Some("father_name")),
                ("X", None),
            ],
            &[("status", "مختفي قسرياً")],
        ))
        .unwrap();
        assert_eq!(mapping.column("nom"), Some(Column::Field(Field::FullName)));
        assert_eq!(
            mapping.column("Père"),
            Some(Column::NamePart(NamePart::Father))
        );
        assert!(mapping.ignores("X"));
        for bad in [
            definition(&[("Nom", Some("fullname"))], &[]),
            definition(&[], &[("colour", "red")]),
            definition(&[], &[("source", "Informant K.")]),
            definition(&[], &[("external_ref", "X")]),
        ] {
            assert!(Mapping::from_definition(&bad).is_err(), "{bad:?}");
        }
    }
}
