//! Black-box API tests: the real app on a random port, a fresh database per
//! test, HTTP only. Every scenario runs on SQLite, and on PostgreSQL when
//! `SIJILL_TEST_DATABASE_URL` is set.

mod helpers;

mod accounts;
mod audit;
mod auth;
mod cli;
mod detainees;
mod errors;
mod facilities;
mod multiprocess;
mod ops;
mod permissions;
mod records_scope;
mod reviews;
mod search;
mod tokens;
