//! The harness itself: a scenario that cannot run here says so.

use std::process::Command;

use crate::helpers::*;
use crate::scenarios;

/// Run this test binary on one scenario, as `cargo test` would.
fn run_alone(scenario: &str, database_url: Option<&str>, ci: bool) -> (bool, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([scenario, "--exact"])
        .env_remove("SIJILL_TEST_DATABASE_URL")
        .env_remove("CI");
    if let Some(url) = database_url {
        cmd.env("SIJILL_TEST_DATABASE_URL", url);
    }
    if ci {
        cmd.env("CI", "true");
    }
    let output = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// Without `SIJILL_TEST_DATABASE_URL` a PostgreSQL scenario is reported as
/// ignored, with the reason, not as passed; in CI it fails instead.
async fn postgres_scenarios_without_a_database_are_ignored_not_passed(_engine: Engine) {
    let scenario = "ops::postgres::health_and_readiness";
    let (ok, text) = run_alone(scenario, None, false);
    assert!(ok, "{text}");
    assert!(text.contains("1 ignored"), "{text}");
    assert!(text.contains("0 passed"), "{text}");
    assert!(
        text.contains(NO_POSTGRES),
        "the reason is not shown: {text}"
    );

    let (ok, text) = run_alone(scenario, None, true);
    assert!(!ok, "CI without PostgreSQL passed: {text}");
    assert!(
        text.contains("SIJILL_TEST_DATABASE_URL is not set"),
        "{text}"
    );
}

scenarios! {
    sqlite: [postgres_scenarios_without_a_database_are_ignored_not_passed],
}
