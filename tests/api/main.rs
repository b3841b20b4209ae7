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

use helpers::{in_ci, Need};

mod browser;
mod helpers;

mod accounts;
mod attachments;
mod audit;
mod auth;
mod backups;
mod cli;
mod console;
mod crash;
mod detainees;
mod errors;
mod exports;
mod facilities;
mod harness;
mod imports;
mod mfa;
mod multiprocess;
mod ops;
mod outage;
mod permissions;
mod races;
mod records_scope;
mod reviews;
mod search;
mod tokens;

/// The servers' warnings and errors (the cause behind a 500 or a 503, which
/// the answer does not carry) go to `target/api-tests.log`, so that a
/// failure in CI can be read after the fact.
fn log_server_warnings() {
    let path = concat!(env!("CARGO_TARGET_TMPDIR"), "/../api-tests.log");
    let Ok(file) = std::fs::File::create(path) else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
}

fn main() -> ExitCode {
    log_server_warnings();
    let args = Arguments::from_args();
    let modules = [
        accounts::scenarios,
        attachments::scenarios,
        audit::scenarios,
        auth::scenarios,
        backups::scenarios,
        cli::scenarios,
        console::scenarios,
        crash::scenarios,
        detainees::scenarios,
        errors::scenarios,
        exports::scenarios,
        facilities::scenarios,
        harness::scenarios,
        imports::scenarios,
        mfa::scenarios,
        multiprocess::scenarios,
        ops::scenarios,
        outage::scenarios,
        permissions::scenarios,
        races::scenarios,
        records_scope::scenarios,
        reviews::scenarios,
        search::scenarios,
        tokens::scenarios,
    ];
    let missing: Vec<Need> = [Need::Postgres, Need::Python3, Need::S3, Need::Chromium]
        .into_iter()
        .filter(|need| !need.met())
        .collect();
    let ci = in_ci();
    for need in &missing {
        if ci {
            eprintln!("{}", need.missing_in_ci());
        } else {
            eprintln!(
                "{}: the scenarios that need it are ignored ({})",
                need.reason(),
                match need {
                    Need::Postgres => "set SIJILL_TEST_DATABASE_URL to run them; .ci/run does",
                    Need::Python3 => "install python3 to run them",
                    Need::S3 => "start an S3-compatible server and set SIJILL_TEST_S3_BUCKET and the AWS_ variables to run them; .ci/run does",
                    Need::Chromium => "install chromium and chromium-driver to run them; .ci/run does",
                }
            );
        }
    }
    let trials = modules
        .iter()
        .flat_map(|scenarios| scenarios())
        .map(|scenario| {
            let unmet = scenario
                .needs
                .iter()
                .copied()
                .find(|need| missing.contains(need));
            let name = scenario.name.clone();
            match unmet {
                // Outside CI: reported as ignored, with the reason beside it.
                Some(need) if !ci => Trial::test(name, || Ok(()))
                    .with_ignored_flag(true)
                    .with_kind(need.reason()),
                // In CI: run, and fail saying why.
                _ => Trial::test(name, move || scenario.run(unmet).map_err(Into::into)),
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
