//! Imports of the lists organisations already keep (spreadsheets with
//! Arabic and English headers, dates written every way people write them).
//!
//! - `values`: cells read into the file's types by written rules — or
//!   refused, saying what was found; never guessed.
//! - `columns`: which field a column holds, from its header in either
//!   language; name parts in columns of their own joined.
//!
//! Work in progress toward `POST /imports` and `sijill import` (docs/imports.md
//! says what is built and what is not).

pub mod columns;
pub mod values;
