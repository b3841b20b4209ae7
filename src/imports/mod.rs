//! Imports of the lists organisations already keep (spreadsheets with
//! Arabic and English headers, dates written every way people write them),
//! over HTTP (`POST /imports`) and on the command line (`sijill import`),
//! through the same code (`run`).
//!
//! - `source`: a CSV, JSON Lines or XLSX file as headers and records.
//! - `columns`: which field a column holds, from its header in either
//!   language; name parts in columns of their own joined.
//! - `values`: cells read into the file's types by written rules — or
//!   refused, saying what was found; never guessed.
//! - `mapping`: saved mappings for headers no rule knows, and constants.
//! - `rows`: a record read into the change it makes to a file.
//! - `duplicates`: possible duplicates of new files, reported, never merged.
//! - `job`: jobs and their reports as stored.
//! - `run`: a job run batch by batch; `queue`: uploads and how many jobs
//!   run at once; `worker`: a server's jobs each in a process of its own;
//!   `priority`: jobs run below requests; `pacing`: jobs pause while
//!   others are served (PostgreSQL); `routes`: the HTTP side, jobs
//!   started in the background.

pub mod columns;
pub mod duplicates;
pub mod job;
pub mod mapping;
pub mod pacing;
pub mod priority;
pub mod queue;
pub mod routes;
pub mod rows;
pub mod run;
pub mod source;
pub mod values;
pub mod worker;
