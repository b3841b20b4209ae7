//! `sijill backup`: a consistent copy of a SQLite database while servers
//! run on it.
//!
//! `VACUUM INTO` reads the database in one read transaction and writes a
//! new, compacted file: a snapshot as of its start, taken while writers
//! carry on (WAL mode), never a mix of before and after a transaction.
//! (SQLite's backup API would copy page by page and restart whenever a
//! writer changes a page; under steady writes it may never finish.)
//! PostgreSQL has its own tools: `pg_dump` (docs/operations.md).

use diesel::RunQueryDsl;

use super::{Database, DbConnection};
use crate::error::AppError;

/// Copy the SQLite database to `dest` (a new file); returns its size.
pub fn sqlite_copy(db: &Database, dest: &std::path::Path) -> Result<u64, AppError> {
    let path = dest
        .to_str()
        .ok_or_else(|| AppError::validation("the destination path is not valid UTF-8"))?
        .to_owned();
    db.read_blocking(move |conn| match conn {
        DbConnection::Sqlite(sqlite) => {
            diesel::sql_query("VACUUM INTO ?")
                .bind::<diesel::sql_types::Text, _>(&path)
                .execute(sqlite)?;
            Ok(())
        }
        DbConnection::Postgresql(_) => Err(AppError::validation(
            "`sijill backup` copies SQLite databases; for PostgreSQL use pg_dump \
             (docs/operations.md, \"Backups\")",
        )),
    })?;
    std::fs::metadata(dest)
        .map(|m| m.len())
        .map_err(AppError::internal)
}
