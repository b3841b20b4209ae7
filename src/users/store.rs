use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::model::{Role, User};
use crate::audit::Origin;
use crate::audit::{self, Actor, AuditAction, Changes};
use crate::db::schema::users;
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::stored_uuid;
use crate::error::AppError;

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    organization_id: String,
    active: bool,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<UserRow> for User {
    type Error = AppError;
    fn try_from(row: UserRow) -> Result<Self, AppError> {
        Ok(User {
            id: stored_uuid(&row.id)?,
            username: row.username,
            display_name: row.display_name,
            role: row.role.parse()?,
            organization_id: stored_uuid(&row.organization_id)?,
            active: row.active,
            version: row.version,
            created_at: db::to_utc(row.created_at),
            updated_at: db::to_utc(row.updated_at),
        })
    }
}

pub struct NewUserRecord<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub organization_id: Uuid,
    pub password_hash: &'a str,
}

/// Create an account and its `user.create` entry, in the caller's transaction.
pub fn create(
    conn: &mut WriteTx<'_>,
    actor: &Actor,
    new: NewUserRecord<'_>,
    origin: &Origin,
) -> Result<User, AppError> {
    let user = insert(conn, new)?;
    audit::append(
        conn,
        actor,
        AuditAction::UserCreate,
        Some(user.id.to_string()),
        Changes::new()
            .created("username", user.username.clone())
            .created("display_name", user.display_name.clone())
            .created("role", user.role.as_str())
            .created("organization_id", user.organization_id.to_string())
            .created("active", true),
        origin,
    )?;
    Ok(user)
}

fn insert(conn: &mut DbConnection, new: NewUserRecord<'_>) -> Result<User, AppError> {
    let now = db::now();
    let user = User {
        id: Uuid::now_v7(),
        username: new.username.to_owned(),
        display_name: new.display_name.to_owned(),
        role: new.role,
        organization_id: new.organization_id,
        active: true,
        version: 1,
        created_at: db::to_utc(now),
        updated_at: db::to_utc(now),
    };
    diesel::insert_into(users::table)
        .values((
            users::id.eq(user.id.to_string()),
            users::username.eq(&user.username),
            users::display_name.eq(&user.display_name),
            users::role.eq(user.role.as_str()),
            users::organization_id.eq(user.organization_id.to_string()),
            users::active.eq(true),
            users::password_hash.eq(new.password_hash),
            users::version.eq(1),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict { .. } => AppError::conflict("this username is taken"),
            other => other,
        })?;
    Ok(user)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<User>, AppError> {
    users::table
        .find(id.to_string())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

/// The account and its password hash, for login only.
pub fn find_for_login(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<(User, String)>, AppError> {
    users::table
        .filter(users::username.eq(username))
        .select((UserRow::as_select(), users::password_hash))
        .first::<(UserRow, String)>(conn)
        .optional()?
        .map(|(row, hash)| Ok((User::try_from(row)?, hash)))
        .transpose()
}

pub fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}

#[derive(Debug, Default)]
pub struct UserFilter {
    pub organization_id: Option<Uuid>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<User>, AppError> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(org) = filter.organization_id {
        query = query.filter(users::organization_id.eq(org.to_string()));
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role.as_str()));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(after) = after {
        query = query.filter(users::id.gt(after.to_string()));
    }
    query
        .order(users::id.asc())
        .limit(fetch)
        .load(conn)?
        .into_iter()
        .map(User::try_from)
        .collect()
}

/// Write the edited account if its version is still `expected_version`;
/// `false` when someone else changed it first.
pub fn update(
    conn: &mut DbConnection,
    user: &User,
    expected_version: i64,
) -> Result<bool, AppError> {
    let updated = diesel::update(
        users::table
            .filter(users::id.eq(user.id.to_string()))
            .filter(users::version.eq(expected_version)),
    )
    .set((
        users::display_name.eq(&user.display_name),
        users::role.eq(user.role.as_str()),
        users::active.eq(user.active),
        users::version.eq(user.version),
        users::updated_at.eq(user.updated_at.naive_utc()),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn set_password_hash(conn: &mut DbConnection, id: Uuid, hash: &str) -> Result<(), AppError> {
    diesel::update(users::table.find(id.to_string()))
        .set(users::password_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}
