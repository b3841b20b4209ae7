//! The name-key index: kept in step with each file, looked up by key.

use diesel::prelude::*;
use uuid::Uuid;

use super::names::tokens;
use crate::db::schema::{detainees, name_keys};
use crate::db::DbConnection;
use crate::detainees::Detainee;
use crate::domain::stored_uuid;
use crate::error::AppError;

/// The name fields of a file, as `(field, text)`.
pub fn name_fields(file: &Detainee) -> Vec<(&'static str, &str)> {
    let f = &file.fields;
    let mut fields = vec![("full_name", f.full_name.as_str())];
    if let Some(ar) = &f.name_ar {
        fields.push(("name_ar", ar.as_str()));
    }
    fields.extend(f.aliases.iter().map(|a| ("aliases", a.as_str())));
    fields
}

/// Replace the file's keys with those of its current names. Call in the
/// transaction that changes the names.
pub fn index_file(conn: &mut DbConnection, file: &Detainee) -> Result<(), AppError> {
    diesel::delete(name_keys::table.filter(name_keys::detainee_id.eq(file.id.to_string())))
        .execute(conn)?;
    for (field, text) in name_fields(file) {
        for token in tokens(text) {
            diesel::insert_into(name_keys::table)
                .values((
                    name_keys::id.eq(Uuid::now_v7().to_string()),
                    name_keys::detainee_id.eq(file.id.to_string()),
                    name_keys::field.eq(field),
                    name_keys::token.eq(&token.text),
                    name_keys::key.eq(&token.key),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Files with any of these keys (at most `limit`), through the key index.
pub fn candidates(
    conn: &mut DbConnection,
    keys: &[String],
    limit: i64,
) -> Result<Vec<Uuid>, AppError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    name_keys::table
        .filter(name_keys::key.eq_any(keys.to_vec()))
        .select(name_keys::detainee_id)
        .distinct()
        .limit(limit)
        .load::<String>(conn)?
        .iter()
        .map(|id| stored_uuid(id))
        .collect()
}

/// Files created before the index existed get their keys (at start-up).
pub fn index_missing(conn: &mut DbConnection) -> Result<usize, AppError> {
    let missing: Vec<String> = detainees::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            name_keys::table.filter(name_keys::detainee_id.eq(detainees::id)),
        )))
        .select(detainees::id)
        .load(conn)?;
    let mut indexed = 0;
    for id in missing {
        let id = stored_uuid(&id)?;
        if let Some(file) = crate::detainees::store::find_in_scope(
            conn,
            id,
            crate::detainees::scope::FileScope::All,
        )? {
            index_file(conn, &file)?;
            indexed += 1;
        }
    }
    Ok(indexed)
}
