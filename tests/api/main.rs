//! Black-box API tests: the real app on a random port, a fresh database per
//! test, HTTP only. Every scenario runs on SQLite, and on PostgreSQL when
//! `SIJILL_TEST_DATABASE_URL` is set.
//!
//! A harness of our own (libtest-mimic) rather than `#[test]` functions, so
//! that a scenario that cannot run here is reported as *ignored*, with the
//! reason, instead of passing without having run. In CI (`CI=true`) a
//! missing PostgreSQL is a failure, never a skip.

use std::process::ExitCode;

use libtest_mimic::{Arguments, Trial};

use helpers::{postgres_availability, Engine, PostgresAvailability, NO_POSTGRES};

mod helpers;

mod accounts;
mod audit;
mod auth;
mod cli;
mod detainees;
mod errors;
mod facilities;
mod harness;
mod multiprocess;
mod ops;
mod permissions;
mod races;
mod records_scope;
mod reviews;
mod search;
mod tokens;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let modules = [
        accounts::scenarios,
        audit::scenarios,
        auth::scenarios,
        cli::scenarios,
        detainees::scenarios,
        errors::scenarios,
        facilities::scenarios,
        harness::scenarios,
        multiprocess::scenarios,
        ops::scenarios,
        permissions::scenarios,
        races::scenarios,
        records_scope::scenarios,
        reviews::scenarios,
        search::scenarios,
        tokens::scenarios,
    ];
    let skip_postgres = matches!(postgres_availability(), PostgresAvailability::NotConfigured);
    if skip_postgres {
        eprintln!(
            "SIJILL_TEST_DATABASE_URL is not set: the PostgreSQL scenarios are ignored \
             (set it to run them; .ci/run does)"
        );
    }
    let trials = modules
        .iter()
        .flat_map(|scenarios| scenarios())
        .map(|scenario| {
            let ignored = skip_postgres && scenario.engine == Engine::Postgres;
            let trial = Trial::test(scenario.name.clone(), move || {
                scenario.run().map_err(Into::into)
            });
            if ignored {
                trial.with_ignored_flag(true).with_kind(NO_POSTGRES)
            } else {
                trial
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
