//! `sijill backup`: a consistent copy of a SQLite database taken while the
//! server runs and writes; the copy verifies and serves. (PostgreSQL is
//! backed up with its own tools, docs/operations.md; the command says so.)

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::scenarios;

scenarios! {
    sqlite: [
        a_backup_taken_while_writing_verifies_and_serves,
    ],
    postgres: [
        a_backup_of_postgresql_points_to_pg_dump,
    ],
}

async fn a_backup_taken_while_writing_verifies_and_serves(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let kept = id_of(
        &new_file(
            &app,
            &caseworker.token,
            &json!({"full_name": "Rami Nabil Saleh"}),
        )
        .await,
    );
    let dest = app.db.dir.join("backup.db");
    // Files keep being written while the copy is taken.
    let writing = async {
        let mut made = 0;
        for i in 0..40 {
            let body = json!({"full_name": format!("Written During Backup {i}")});
            let res = app
                .post("/api/v1/detainees", &caseworker.token, &body)
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
            made += 1;
        }
        made
    };
    let mut command = sijill(&app.db);
    command.arg("backup").arg(&dest);
    let backup = tokio::task::spawn_blocking(move || command.output().unwrap());
    let (made, output) = tokio::join!(writing, backup);
    let output = output.unwrap();
    assert_eq!(made, 40);
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("mfa-key"), "{said}");
    // Encrypted data stays encrypted in the copy: it names the key it needs.
    assert!(said.contains("data-key (id "), "{said}");
    // Not over an existing file.
    let again = sijill(&app.db).arg("backup").arg(&dest).output().unwrap();
    assert!(!again.status.success());

    // The copy verifies on its own …
    let copy = TestDatabase {
        url: format!("sqlite://{}", dest.display()),
        engine: Engine::Sqlite,
        dir: app.db.dir.clone(),
    };
    let verified = sijill(&copy).args(["audit", "verify"]).output().unwrap();
    let text = String::from_utf8_lossy(&verified.stdout).to_string();
    assert!(verified.status.success(), "{text}");
    assert!(text.trim_end().ends_with("ok"), "{text}");

    // … and serves, with the keys of the data directory.
    let original = app.stop().await;
    let settings = test_settings(&copy);
    let restored = spawn_on(copy, settings).await;
    let (token, _) = restored
        .login_ok(&caseworker.username, &caseworker.password)
        .await;
    let res = restored
        .get(&format!("/api/v1/detainees/{kept}"), &token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let auditor = restored.user_with_role("auditor").await;
    assert_eq!(restored.verify_report(&auditor.token).await["ok"], true);
    drop(original);
}

async fn a_backup_of_postgresql_points_to_pg_dump(engine: Engine) {
    let app = spawn_app(engine).await;
    let dest = app.db.dir.join("backup.db");
    let output = sijill(&app.db).arg("backup").arg(&dest).output().unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("pg_dump"),
        "{output:?}"
    );
    assert!(!dest.exists());
}
