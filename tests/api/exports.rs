//! `GET /detainees/export`: every file the caller may see, as CSV or JSON
//! Lines, with each value as the file's own answer has it; audited once,
//! every file in the access log; more files than one batch.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

scenarios! {
    both: [
        an_export_holds_every_visible_file_as_its_answer_does,
        an_export_streams_more_files_than_one_batch,
    ],
}

async fn export(app: &TestApp, token: &str, query: &str) -> (StatusCode, String) {
    let res = app
        .get(&format!("/api/v1/detainees/export?{query}"), token)
        .await;
    (res.status(), res.text().await.unwrap())
}

/// The rows of a CSV export, each as column → cell.
fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            let record = r.unwrap();
            headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

async fn an_export_holds_every_visible_file_as_its_answer_does(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let other = app.user_with_role("caseworker").await;
    let facility = new_facility(&app, &caseworker.token).await;
    let mut full = full_file(&facility);
    full["aliases"] = json!(["Abu Omar, the elder", "\"Omar\" al-Halabi"]);
    full["notes"] = json!("=HYPERLINK(\"http://example.invalid\")");
    full["source_notes"] = json!("A released cellmate, Hama, 2016.");
    let rich = id_of(&new_file(&app, &caseworker.token, &full).await);
    let plain = id_of(
        &new_file(
            &app,
            &caseworker.token,
            &json!({"full_name": "Lina Samir Haddad", "name_ar": "لينا سمير حداد", "status": "detained"}),
        )
        .await,
    );
    let archived = id_of(
        &new_file(
            &app,
            &caseworker.token,
            &json!({"full_name": "Archived Person"}),
        )
        .await,
    );
    let res = app
        .delete(
            &format!("/api/v1/detainees/{archived}"),
            &caseworker.token,
            "*",
        )
        .await;
    assert_eq!(res.status(), 204);
    new_file(
        &app,
        &other.token,
        &json!({"full_name": "Another Organisation"}),
    )
    .await;

    // CSV: the organisation's live files, every value as the file's answer.
    let (status, text) = export(&app, &caseworker.token, "format=csv").await;
    assert_eq!(status, StatusCode::OK);
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 2, "{text}");
    for row in &rows {
        let answer = file_of(&app, &caseworker.token, &row["id"]).await;
        for (column, cell) in row {
            let expected = match &answer[column.as_str()] {
                Value::Null => String::new(),
                Value::String(s) if s.starts_with('=') => format!("'{s}"),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(cell, &expected, "{column} of {}", row["id"]);
        }
    }
    let rich_row = rows.iter().find(|r| r["id"] == rich).unwrap();
    assert_eq!(rich_row["source_notes"], "A released cellmate, Hama, 2016.");
    assert!(
        rich_row["notes"].starts_with("'="),
        "defused: {}",
        rich_row["notes"]
    );
    let aliases: Vec<String> = serde_json::from_str(&rich_row["aliases"]).unwrap();
    assert_eq!(aliases[1], "\"Omar\" al-Halabi");

    // Filters, archived files, JSON Lines.
    let (_, text) = export(&app, &caseworker.token, "status=disappeared").await;
    assert_eq!(csv_rows(&text).len(), 1);
    let (_, text) = export(&app, &caseworker.token, "include_archived=true").await;
    assert_eq!(csv_rows(&text).len(), 3);
    let (status, text) = export(&app, &caseworker.token, "format=jsonl").await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let answer = file_of(&app, &caseworker.token, line["id"].as_str().unwrap()).await;
        assert_eq!(line, &answer);
    }
    let (status, _) = export(&app, &caseworker.token, "format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // An auditor's export holds every organisation's files.
    let auditor = app.user_with_role("auditor").await;
    let (_, text) = export(&app, &auditor.token, "").await;
    assert_eq!(csv_rows(&text).len(), 3);

    // Audited once each, with the count; each file in the access log.
    let entries = app.audit_entries(&auditor.token).await;
    let exports: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "detainee.export")
        .collect();
    assert_eq!(
        exports.len(),
        5,
        "four by the caseworker (not the refused one), one by the auditor"
    );
    assert_eq!(exports[0]["changes"]["count"], json!([null, 2]));
    assert_eq!(exports[0]["changes"]["format"], json!([null, "csv"]));
    assert_eq!(
        exports[1]["changes"]["status"],
        json!([null, "disappeared"])
    );
    let res = app
        .get(
            &format!("/api/v1/audit/access?entity_id={plain}"),
            &auditor.token,
        )
        .await;
    let access: Value = res.json().await.unwrap();
    let exported = access["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "detainee.export")
        .count();
    assert_eq!(
        exported, 4,
        "every export that held the file (not the one filtered to `disappeared`)"
    );
}

/// More files than a batch (a thousand): every one once, in id order.
async fn an_export_streams_more_files_than_one_batch(engine: Engine) {
    let db = TestDatabase::new(engine);
    let password = strong_password();
    let output = sijill(&db)
        .args(["seed-demo", "--files", "1500"])
        .env("SIJILL_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SIJILL_DEMO_PASSWORD", &password)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let settings = test_settings(&db);
    let app = spawn_on(db, settings).await;
    let (token, _) = app.login_ok("demo.caseworker", &password).await;
    let list: Value = app
        .get("/api/v1/detainees?limit=1", &token)
        .await
        .json()
        .await
        .unwrap();
    assert!(list["next_cursor"].is_string());
    let (status, text) = export(&app, &token, "format=jsonl").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(ids.len() > 1500, "{}", ids.len());
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids, "each once, in id order");
    let (_, csv) = export(&app, &token, "format=csv").await;
    assert_eq!(csv_rows(&csv).len(), ids.len());

    // The command line writes the same rows, as the account named.
    let path = app.db.dir.join("files.csv");
    let output = sijill(&app.db)
        .args([
            "export",
            "--as",
            "demo.caseworker",
            "--format",
            "csv",
            "--out",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), csv);
    let output = sijill(&app.db)
        .args(["export", "--as", "admin"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "admins read no files");
}
