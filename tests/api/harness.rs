//! The harness itself: a scenario that cannot run here says so.

use std::process::Command;

use crate::helpers::*;
use crate::scenarios;

/// Run this test binary on one scenario, as `cargo test` would.
fn run_alone(scenario: &str, database_url: Option<&str>, ci: bool) -> (bool, String) {
    run_alone_with(scenario, &[], database_url, ci)
}

/// The same, with more arguments for the harness.
fn run_alone_with(
    scenario: &str,
    args: &[&str],
    database_url: Option<&str>,
    ci: bool,
) -> (bool, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([scenario, "--exact"])
        .args(args)
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

/// A scenario declared as showing a known bug is ignored, in CI too, with
/// the bug said; asked for with `--ignored`, it runs. (With no known bug
/// left, there is nothing to check.)
async fn known_bugs_are_ignored_with_the_bug_said_and_run_when_asked(_engine: Engine) {
    let Some(scenario) = crate::every_scenario()
        .into_iter()
        .find(|s| s.known_bug.is_some() && s.needs.is_empty())
    else {
        return;
    };
    let bug = scenario.known_bug.unwrap();
    for ci in [false, true] {
        let (ok, text) = run_alone(&scenario.name, None, ci);
        assert!(ok, "{text}");
        assert!(
            text.contains("1 ignored") && text.contains("0 passed"),
            "{text}"
        );
        assert!(text.contains(KNOWN_BUG) && text.contains(bug), "{text}");
    }
    let (_, text) = run_alone_with(&scenario.name, &["--ignored"], None, false);
    assert!(text.contains("0 ignored"), "it did not run: {text}");
}

scenarios! {
    sqlite: [
        postgres_scenarios_without_a_database_are_ignored_not_passed,
        known_bugs_are_ignored_with_the_bug_said_and_run_when_asked,
    ],
}
