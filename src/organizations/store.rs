use diesel::prelude::*;
use uuid::Uuid;

use super::model::{Organization, OrganizationKind};
use crate::audit::Origin;
use crate::audit::{self, Actor, AuditAction, Changes};
use crate::db::schema::organizations;
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::stored_uuid;
use crate::error::AppError;

#[derive(Queryable, Selectable)]
#[diesel(table_name = organizations)]
struct OrganizationRow {
    id: String,
    name: String,
    kind: String,
    created_at: chrono::NaiveDateTime,
}

impl TryFrom<OrganizationRow> for Organization {
    type Error = AppError;
    fn try_from(row: OrganizationRow) -> Result<Self, AppError> {
        Ok(Organization {
            id: stored_uuid(&row.id)?,
            name: row.name,
            kind: row.kind.parse()?,
            created_at: db::to_utc(row.created_at),
        })
    }
}

/// Create an organisation and its `organization.create` entry, in the caller's transaction.
pub fn create(
    conn: &mut WriteTx<'_>,
    actor: &Actor,
    name: &str,
    kind: OrganizationKind,
    origin: &Origin,
) -> Result<Organization, AppError> {
    let org = insert(conn, name, kind)?;
    audit::append(
        conn,
        actor,
        AuditAction::OrganizationCreate,
        Some(org.id.to_string()),
        Changes::new()
            .created("name", org.name.clone())
            .created("kind", kind.as_str()),
        origin,
    )?;
    Ok(org)
}

fn insert(
    conn: &mut DbConnection,
    name: &str,
    kind: OrganizationKind,
) -> Result<Organization, AppError> {
    let org = Organization {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        kind,
        created_at: db::to_utc(db::now()),
    };
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(org.id.to_string()),
            organizations::name.eq(&org.name),
            organizations::kind.eq(kind.as_str()),
            organizations::created_at.eq(org.created_at.naive_utc()),
        ))
        .execute(conn)
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict { .. } => {
                AppError::conflict("an organisation with this name already exists")
            }
            other => other,
        })?;
    Ok(org)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<Organization>, AppError> {
    organizations::table
        .find(id.to_string())
        .select(OrganizationRow::as_select())
        .first(conn)
        .optional()?
        .map(Organization::try_from)
        .transpose()
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<Organization>, AppError> {
    organizations::table
        .filter(organizations::name.eq(name))
        .select(OrganizationRow::as_select())
        .first(conn)
        .optional()?
        .map(Organization::try_from)
        .transpose()
}

pub fn list(
    conn: &mut DbConnection,
    kind: Option<OrganizationKind>,
    after: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<Organization>, AppError> {
    let mut query = organizations::table
        .select(OrganizationRow::as_select())
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(organizations::kind.eq(kind.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(organizations::id.gt(after.to_string()));
    }
    query
        .order(organizations::id.asc())
        .limit(fetch)
        .load(conn)?
        .into_iter()
        .map(Organization::try_from)
        .collect()
}
