//! Saved mappings: how to read a list whose headers no rule knows
//! (`POST /import-mappings`, then `POST /imports?mapping=ID`). A mapping
//! names, for some headers, the field (or name part) the column holds, or
//! `null` to leave the column out; and constant values for fields the list
//! does not carry (a list of the disappeared: `status` is `disappeared`).
//! Headers it does not name are read by the usual rules. Constants are read
//! by the same value rules as cells (`"status": "مختفي قسرياً"` works).

use std::collections::BTreeMap;

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::columns::{column_of, Column};
use super::rows::{read_record, Facilities, Layout};
use super::values::folded;
use crate::audit::{self, AuditAction, Changes, Origin};
use crate::auth::{can, Authorized};
use crate::db::schema::import_mappings;
use crate::db::{self, DbConnection};
use crate::domain::{parse_text, stored_uuid, MAX_NAME_CHARS};
use crate::error::{AppError, Problem};
use crate::state::AppState;

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
            parse_text("constants", value, MAX_NAME_CHARS)?;
            constants.push((column, value.clone()));
        }
        let mapping = Mapping { columns, constants };
        // A constant is read as a cell would be: refuse it now, not on
        // every row of every import.
        let layout = Layout::new(Some(mapping.clone()));
        if let Err(problems) = read_record(&layout, &[], &[], &Facilities::new([])) {
            let problem = &problems[0];
            if problem.code != "unknown_facility" {
                return Err(AppError::validation(format!(
                    "constants: {}",
                    problem.message
                )));
            }
        }
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
    #[serde(flatten)]
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

/// Save a mapping for the caller's organisation (audited as `import.mapping_create`).
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    request_body = MappingDefinition,
    responses(
        (status = 201, description = "Saved", body = SavedMapping, headers(("Location" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 422, description = "A target that is no field, or a constant no rule reads", body = Problem),
    )
)]
#[post("/import-mappings")]
pub async fn create_mapping(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ImportDetainees>,
    body: web::Json<MappingDefinition>,
) -> Result<HttpResponse, AppError> {
    let mut definition = body.into_inner();
    definition.name = definition.name.trim().to_owned();
    Mapping::from_definition(&definition)?;
    let caller = auth.caller;
    let saved = SavedMapping {
        id: Uuid::now_v7(),
        organization_id: caller.user.organization_id,
        definition,
        created_by: caller.user.id,
        created_at: db::to_utc(db::now()),
    };
    let actor = caller.actor();
    let row = saved.clone();
    state
        .db
        .write(move |tx| {
            let definition = serde_json::to_string(&row.definition).map_err(AppError::internal)?;
            diesel::insert_into(import_mappings::table)
                .values((
                    import_mappings::id.eq(row.id.to_string()),
                    import_mappings::organization_id.eq(row.organization_id.to_string()),
                    import_mappings::name.eq(&row.definition.name),
                    import_mappings::definition.eq(&definition),
                    import_mappings::created_by.eq(row.created_by.to_string()),
                    import_mappings::created_at.eq(row.created_at.naive_utc()),
                ))
                .execute(tx.conn())?;
            audit::append(
                tx,
                &actor,
                AuditAction::ImportMappingCreate,
                Some(row.id.to_string()),
                Changes::new()
                    .created("name", row.definition.name.clone())
                    .created("organization_id", row.organization_id.to_string())
                    .created(
                        "definition",
                        serde_json::to_value(&row.definition).map_err(AppError::internal)?,
                    ),
                &origin,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/import-mappings/{}", saved.id),
        ))
        .json(saved))
}

/// One of the organisation's mappings.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The mapping", body = SavedMapping),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such mapping in your organisation", body = Problem),
    )
)]
#[get("/import-mappings/{id}")]
pub async fn get_mapping(
    state: web::Data<AppState>,
    auth: Authorized<can::ImportDetainees>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let (id, organization) = (id.into_inner(), auth.caller.user.organization_id);
    let mapping = state
        .db
        .read(move |conn| find(conn, organization, id))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(mapping))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imports::columns::{Field, NamePart};

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
            definition(&[], &[("status", "spring")]),
            definition(&[], &[("colour", "red")]),
        ] {
            assert!(Mapping::from_definition(&bad).is_err(), "{bad:?}");
        }
    }
}
