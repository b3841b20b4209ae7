//! sijill (سجل, "register"): case management for human-rights caseworkers
//! documenting people detained or forcibly disappeared, with independent
//! review before release and a tamper-evident audit log.

// A request must never be able to panic the server.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

pub mod attachments;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod console;
pub mod data_key;
pub mod db;
pub mod demo;
pub mod detainees;
pub mod domain;
pub mod error;
pub mod facilities;
pub mod http;
pub mod imports;
pub mod keys;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod organizations;
pub mod reviews;
pub mod sealing;
pub mod search;
pub mod startup;
pub mod state;
pub mod synthetic;
pub mod telemetry;
pub mod users;
