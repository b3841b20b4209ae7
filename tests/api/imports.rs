//! Imports (`POST /imports`, `sijill import`): lists with Arabic headers
//! and dates as people write them read into files; every problem reported
//! with its row and column; re-imports idempotent; all-or-nothing, dry
//! runs, cancelling and resuming; possible duplicates reported; an export
//! imported back equal; two imports of one list at once. And the import
//! corpus (scripts/import_corpus.py) read by the rules.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sijill::imports::columns::{column_of, Column, Field};
use sijill::imports::values::{read_date, read_enum, SEX, STATUS};

use crate::helpers::*;
use crate::scenarios;

scenarios! {
    both: [
        a_list_is_imported_reported_and_imported_again_unchanged,
        all_or_nothing_and_dry_runs_commit_nothing,
        an_export_imports_back_with_every_value_equal,
        a_cancelled_import_leaves_whole_batches_and_finishes_when_run_again,
        the_same_list_imported_twice_at_once_opens_each_file_once,
        files_opened_while_an_import_runs_get_references_of_their_own,
        workbooks_json_lines_and_saved_mappings,
        imports_are_refused_as_they_should_be,
        an_import_cannot_release_a_file_whose_review_an_edit_undid,
        an_import_stops_when_its_account_may_no_longer_import,
        the_command_line_imports_with_the_same_rules,
        columns_without_a_header_keep_their_place,
        a_job_runs_in_a_lowered_worker_and_ends_when_the_worker_is_killed,
        a_job_whose_worker_cannot_start_fails_saying_so,
        an_import_yields_while_others_are_at_work_and_finishes_whole,
    ],
    sqlite_with_python3: [
        the_corpus_and_the_rules_agree,
    ],
}

const HEADERS: &str = "الرقم المرجعي,الاسم,اسم الأب,الكنية,الاسم بالانكليزية,الجنس,تاريخ الميلاد,مكان الولادة,الحالة,التصنيف,تاريخ الاعتقال,مكان الاحتجاز,آخر مشاهدة,ملاحظات";

/// A list as organisations keep them: Arabic headers, a byte-order mark,
/// dates in several forms, Arabic-Indic digits, one unreadable date, one
/// person marked released (the release gate refuses it), an external
/// reference twice, and one person twice under another spelling.
fn a_list() -> String {
    let rows = [
        "SN-1,محمد,أحمد,الحلبي,Mohammed Ahmad Al-Halabi,ذكر,1980,حلب,مختفي قسرياً,سياسي,أيار 2013,سجن صيدنايا العسكري,٢٠١٤,نقل إلى صيدنايا",
        "SN-2,ريم,ربيع,عازار,Rim Rabih Azzar,F,15/5/1956,دمشق,معتقل,جنائي,2013/5/15,,,",
        "SN-3,فاطمة,محمود,جاموس,Fatimah Mahmood Jamous,أنثى,1951,داريا,disappeared,سياسي,ربيع 2013,,,",
        "SN-4,أحمد,محمد,عساف,Ahmed Mohamed Asaf,male,1974,حلب,مفرج عنه,سياسي,2012-03-25,,,",
        "SN-2,سامر,خالد,إدلبي,Samer Khaled Idlibi,ذكر,1990,إدلب,معتقل,سياسي,2014,,,",
        "SN-6,محمد,احمد,الحلبي,Muhammad Ahmed Alhalabi,ذكر,1980,حلب,معتقل,سياسي,05/2013,,,",
        ",خالد,,,Khaled,ذكر,1970,,detained,,,,,",
    ];
    format!("\u{feff}{HEADERS}\n{}\n", rows.join("\n"))
}

/// Upload a list; the 202 answer's job.
async fn start_import(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> Value {
    let res = upload(app, token, query, body).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED, "{:?}", res.text().await);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/api/v1/imports/"));
    res.json().await.unwrap()
}

async fn upload(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/imports?{query}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The job once it has finished. Up to three minutes: imports run below
/// the priority of everything else, and a loaded machine (a build beside
/// the tests) slows them many times over.
async fn finished(app: &TestApp, token: &str, job: &Value) -> Value {
    let path = format!("/api/v1/imports/{}", id_of(job));
    for _ in 0..1_800 {
        let job: Value = app.get(&path, token).await.json().await.unwrap();
        if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap()) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the import did not finish");
}

async fn import(app: &TestApp, token: &str, query: &str, body: &str) -> Value {
    let job = start_import(app, token, query, body.as_bytes().to_vec()).await;
    finished(app, token, &job).await
}

/// The report as `(row, column, code, message)`.
async fn report(app: &TestApp, token: &str, job: &Value) -> Vec<(i64, String, String, String)> {
    let res = app
        .get(&format!("/api/v1/imports/{}/report", id_of(job)), token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["row", "column", "code", "message"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].parse().unwrap(),
                r[1].to_owned(),
                r[2].to_owned(),
                r[3].to_owned(),
            )
        })
        .collect()
}

/// Entries of the log with this action.
fn count_of(entries: &[Value], action: &str) -> usize {
    entries.iter().filter(|e| e["action"] == action).count()
}

fn counts(job: &Value) -> [i64; 6] {
    [
        "rows_done",
        "created",
        "updated",
        "unchanged",
        "invalid",
        "possible_duplicates",
    ]
    .map(|k| job[k].as_i64().unwrap_or_else(|| panic!("{k} in {job}")))
}

/// The organisation's file with this external reference.
async fn by_ref(app: &TestApp, token: &str, external_ref: &str) -> Option<Value> {
    let res = app
        .get(
            &format!("/api/v1/detainees?external_ref={external_ref}"),
            token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert!(items.len() <= 1);
    items.first().cloned()
}

async fn prison(app: &TestApp, token: &str) -> String {
    new_facility(app, token).await
}

async fn a_list_is_imported_reported_and_imported_again_unchanged(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    let facility = prison(&app, token).await;
    // A file already known, under the spelling of row 6.
    new_file(&app, token, &json!({"full_name": "Mohamad Ahmed Al Halabi", "birth_date": "1980", "place_of_origin": "حلب"})).await;
    let job = import(&app, token, "mode=skip_invalid", &a_list()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["rows_total"], 7);
    // Rows 2, 3, 7, 8 created; 4 (a date), 5 (released) and 6 (SN-2 again) invalid.
    let [done, created, updated, unchanged, invalid, duplicates] = counts(&job);
    assert_eq!(
        (done, created, updated, unchanged, invalid),
        (7, 4, 0, 0, 3),
        "{job}"
    );
    assert!(duplicates >= 2, "{job}");
    let lines = report(&app, token, &job).await;
    let problems: Vec<(i64, &str, &str)> = lines
        .iter()
        .filter(|l| l.2 != "possible_duplicate")
        .map(|l| (l.0, l.1.as_str(), l.2.as_str()))
        .collect();
    assert_eq!(
        problems,
        [
            (4, "تاريخ الاعتقال", "unreadable_value"),
            (5, "الحالة", "review_required"),
            (6, "الرقم المرجعي", "repeated_external_ref"),
        ],
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.0 == 4 && l.3.contains("ربيع 2013")));
    // Row 7 is row 2's person under another spelling; row 2 the file already known.
    let duplicates: Vec<&(i64, String, String, String)> = lines
        .iter()
        .filter(|l| l.2 == "possible_duplicate")
        .collect();
    assert!(duplicates.iter().any(|l| l.0 == 7), "{duplicates:?}");
    assert!(
        duplicates.iter().any(|l| l.0 == 2 && l.3.contains("SJL-")),
        "{duplicates:?}"
    );

    let file = by_ref(&app, token, "SN-1").await.unwrap();
    assert_eq!(file["full_name"], "Mohammed Ahmad Al-Halabi");
    assert_eq!(file["name_ar"], "محمد أحمد الحلبي");
    assert_eq!(file["status"], "disappeared");
    assert_eq!(file["detained_on"], "2013-05");
    assert_eq!(file["last_seen_on"], "2014");
    assert_eq!(file["facility_id"], facility.as_str());
    assert_eq!(file["external_ref"], "SN-1");
    let rim = by_ref(&app, token, "SN-2").await.unwrap();
    assert_eq!(
        (rim["birth_date"].as_str(), rim["sex"].as_str()),
        (Some("1956-05-15"), Some("female"))
    );
    assert_eq!(rim["category"], "criminal_accusation");
    // A reference no file can have (empty, a NUL, too long) matches none.
    let too_long = "S".repeat(101);
    for no_reference in ["", "%20", "%00", "SN-1%00", too_long.as_str()] {
        assert_eq!(
            by_ref(&app, token, no_reference).await,
            None,
            "{no_reference}"
        );
        let res = app
            .get(
                &format!("/api/v1/detainees/export?format=jsonl&external_ref={no_reference}"),
                token,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{no_reference}");
        assert_eq!(res.text().await.unwrap(), "", "{no_reference}");
    }
    // Each export's entry says what was asked, not an unfiltered export.
    let entries = app.audit_entries(&c.auditor.token).await;
    let asked: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "detainee.export")
        .map(|e| &e["changes"]["external_ref"][1])
        .collect();
    assert_eq!(asked.len(), 5, "{asked:?}");
    assert!(asked.iter().all(|v| v.is_string()), "{asked:?}");
    // Searchable at once.
    let res = app
        .post(
            "/api/v1/detainees/search",
            token,
            &json!({"q": "محمد احمد الحلبي"}),
        )
        .await;
    let hits: Value = res.json().await.unwrap();
    assert!(
        hits["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["file"]["external_ref"] == "SN-1"),
        "{hits}"
    );
    // Audited: the job, and each file in its own entry.
    let entries = app.audit_entries(&c.auditor.token).await;
    assert_eq!(count_of(&entries, "import.start"), 1);
    assert_eq!(count_of(&entries, "import.finish"), 1);
    assert_eq!(count_of(&entries, "detainee.create"), 5);
    let finish = entries
        .iter()
        .find(|e| e["action"] == "import.finish")
        .unwrap();
    assert_eq!(finish["changes"]["created"][1], 4);
    assert_eq!(finish["entity_type"], "import");
    assert_eq!(app.verify_report(&c.auditor.token).await["ok"], true);

    // The same list again: nothing changes — but a row without an external
    // reference cannot be told from a new person: it opens a file again,
    // reported as a possible duplicate of the first.
    let again = import(&app, token, "mode=skip_invalid", &a_list()).await;
    assert_eq!(counts(&again)[..5], [7, 1, 0, 3, 3], "{again}");
    let lines = report(&app, token, &again).await;
    assert!(
        lines
            .iter()
            .any(|l| l.0 == 8 && l.2 == "possible_duplicate"),
        "{lines:?}"
    );
    let entries = app.audit_entries(&c.auditor.token).await;
    assert_eq!(count_of(&entries, "detainee.create"), 6);

    // A cleared file of the organisation gets the list's reference; a list
    // that changes its accusation sends it back to review, audited as an edit.
    let cleared = cleared_file(&app, &c).await;
    let current = file_of(&app, token, &cleared).await;
    let res = app
        .patch(
            &format!("/api/v1/detainees/{cleared}"),
            token,
            &format!("\"{}\"", current["version"]),
            &json!({"external_ref": "SN-9"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    let list = format!("\u{feff}{HEADERS}\nSN-9,,,,Anas Firas Al-Ali,,,,,جنائي,,,,\nSN-1,,,,,,,,,,,,,ملاحظة جديدة\n");
    let changed = import(&app, token, "", &list).await;
    assert_eq!(changed["status"], "succeeded", "{changed}");
    assert_eq!(counts(&changed)[..5], [2, 0, 2, 0, 0]);
    let after = file_of(&app, token, &cleared).await;
    assert_eq!(after["category"], "criminal_accusation");
    assert_eq!(after["review_status"], "not_reviewed");
    // An empty cell leaves a value alone; a written one replaces it.
    let one = by_ref(&app, token, "SN-1").await.unwrap();
    assert_eq!(one["notes"], "ملاحظة جديدة");
    assert_eq!(one["status"], "disappeared");
    let entries = app.audit_entries(&c.auditor.token).await;
    let update = entries
        .iter()
        .find(|e| {
            e["action"] == "detainee.update"
                && e["entity_id"] == cleared.as_str()
                && e["changes"].get("category").is_some()
        })
        .unwrap();
    assert_eq!(update["changes"]["review_status"][1], "not_reviewed");
}

async fn all_or_nothing_and_dry_runs_commit_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    prison(&app, token).await;
    let failed = import(&app, token, "", &a_list()).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["mode"], "all_or_nothing");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("3 of 7 rows are invalid"),
        "{failed}"
    );
    assert_eq!(counts(&failed)[4], 3);
    assert_eq!(report(&app, token, &failed).await.len(), 3);
    let dry = import(&app, token, "dry_run=true&mode=skip_invalid", &a_list()).await;
    assert_eq!(dry["status"], "succeeded");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(counts(&dry)[..5], [7, 4, 0, 0, 3]);
    assert!(counts(&dry)[5] >= 1, "{dry}");
    let res = app.get("/api/v1/detainees", token).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "nothing committed"
    );
    let entries = app.audit_entries(&c.auditor.token).await;
    assert_eq!(count_of(&entries, "detainee.create"), 0);
    assert_eq!(count_of(&entries, "import.finish"), 2);
    // All valid: all committed.
    let valid: String = a_list()
        .lines()
        .enumerate()
        .filter(|(i, _)| ![3, 4, 5].contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    // PostgreSQL's planner statistics: left alone by what loaded nothing,
    // refreshed by a bulk load (SQLite keeps none).
    let on_postgres = |n: i64| (engine == Engine::Postgres).then_some(n);
    assert_eq!(statistics_refreshed(&app), on_postgres(0), "nothing loaded");
    let job = import(&app, token, "", &valid).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(counts(&job)[..5], [4, 4, 0, 0, 0]);
    assert_eq!(statistics_refreshed(&app), on_postgres(1), "a bulk load");
}

/// How many times the planner's statistics on `detainees` were refreshed
/// by the service (`ANALYZE`; autovacuum's are counted apart) on
/// PostgreSQL; `None` on SQLite, which keeps none.
fn statistics_refreshed(app: &TestApp) -> Option<i64> {
    (app.db.engine == Engine::Postgres).then(|| {
        app.db
            .query_text(
                "SELECT analyze_count::text AS value FROM pg_stat_user_tables \
                 WHERE relid = 'detainees'::regclass",
            )
            .parse()
            .unwrap()
    })
}

/// Files with every field, exported as CSV by one organisation and
/// imported by another: every value equal.
async fn an_export_imports_back_with_every_value_equal(engine: Engine) {
    let app = spawn_app(engine).await;
    let from = app.user_with_role("caseworker").await;
    let to = app.user_with_role("caseworker").await;
    let facility = new_facility(&app, &from.token).await;
    let mut full = full_file(&facility);
    full["aliases"] = json!(["Abu Omar, the elder", "\"Omar\" al-Halabi", "'quoted"]);
    full["notes"] = json!("=HYPERLINK(\"http://example.invalid\")\nline two");
    full["external_ref"] = json!("-7");
    full["accusation_summary"] = json!("Accused of   \"spying\"; no trial.");
    full["category"] = json!("criminal_accusation");
    full["major_crimes_accusation"] = json!(true);
    new_file(&app, &from.token, &full).await;
    new_file(&app, &from.token, &json!({"full_name": "سامر خالد", "external_ref": "X-2", "birth_date": "1990-02-03", "sex": "female"})).await;
    new_file(&app, &from.token, &json!({"full_name": "Only A Name"})).await;
    let exported = app
        .get("/api/v1/detainees/export?format=csv", &from.token)
        .await
        .text()
        .await
        .unwrap();
    let job = import(&app, &to.token, "", &exported).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(counts(&job)[..5], [3, 3, 0, 0, 0]);
    assert!(report(&app, &to.token, &job)
        .await
        .iter()
        .all(|l| l.2 == "possible_duplicate"));
    let again = app
        .get("/api/v1/detainees/export?format=csv", &to.token)
        .await
        .text()
        .await
        .unwrap();
    let content = |text: &str| -> Vec<BTreeMap<String, String>> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        let mut rows: Vec<BTreeMap<String, String>> = reader
            .records()
            .map(|r| {
                headers
                    .iter()
                    .cloned()
                    .zip(r.unwrap().iter().map(str::to_owned))
                    .filter(|(h, _)| {
                        ![
                            "id",
                            "reference",
                            "organization_id",
                            "version",
                            "created_at",
                            "created_by",
                            "updated_at",
                            "updated_by",
                        ]
                        .contains(&h.as_str())
                    })
                    .collect()
            })
            .collect();
        rows.sort_by(|a, b| a["full_name"].cmp(&b["full_name"]));
        rows
    };
    assert_eq!(content(&again), content(&exported));
    assert_eq!(content(&again).len(), 3);
}

/// A list of `n` people, each with an external reference.
fn many(n: usize) -> String {
    let mut list = "external_ref,full_name,birth_date,status\n".to_owned();
    for i in 0..n {
        list.push_str(&format!(
            "R-{i},Person Number{i} Test{},{},detained\n",
            i % 97,
            1950 + i % 50
        ));
    }
    list
}

async fn a_cancelled_import_leaves_whole_batches_and_finishes_when_run_again(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    let list = many(6_000);
    let job = start_import(&app, token, "mode=skip_invalid", list.clone().into_bytes()).await;
    let res = app
        .post(
            &format!("/api/v1/imports/{}/cancel", id_of(&job)),
            token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let cancelled = finished(&app, token, &job).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let [done, created, ..] = counts(&cancelled);
    assert!(
        // Whole batches: 250 rows on SQLite, 1,000 on PostgreSQL.
        done < 6_000 && done % 250 == 0,
        "whole batches: {cancelled}"
    );
    assert_eq!(created, done);
    // Cancelling again: it has finished.
    let res = app
        .post(
            &format!("/api/v1/imports/{}/cancel", id_of(&job)),
            token,
            &json!({}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    // Run again: it finishes what was left, and what was done is unchanged.
    let resumed = import(&app, token, "mode=skip_invalid", &list).await;
    assert_eq!(resumed["status"], "succeeded");
    assert_eq!(counts(&resumed)[..5], [6_000, 6_000 - done, 0, done, 0]);
    let entries = app.audit_entries(&c.auditor.token).await;
    assert_eq!(count_of(&entries, "import.cancel"), 1);
    assert_eq!(count_of(&entries, "detainee.create"), 6_000);
    assert_eq!(app.verify_report(&c.auditor.token).await["ok"], true);
}

/// The job ended failed, its error saying `why`.
fn assert_failed_saying(job: &Value, why: &str) {
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains(why), "{job}");
}

/// `/proc/PID/stat` of a process: its session and its (main thread's) nice
/// value.
fn session_and_nice(pid: u32) -> Option<(u32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (command) state ppid pgrp session … nice` (fields 1, 2, 3…, 6, 19).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some((fields[3].parse().ok()?, fields[16].parse().ok()?))
}

/// The worker process running job `id`, once it runs.
async fn worker_of(id: &str) -> u32 {
    for _ in 0..2_000 {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let arguments: Vec<&[u8]> = command.split(|b| *b == 0).collect();
            if arguments
                .windows(2)
                .any(|w| w == [&b"import-worker"[..], id.as_bytes()])
            {
                return pid;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no worker process runs job {id}");
}

/// A server's import runs in a process of its own: in a session of its own
/// (so a scheduling group of its own), lowered — its group to the lowest
/// priority where the kernel has groups. Killed after its first batch, the
/// job ends failed with its `import.finish`, what it committed is whole
/// batches, and the list uploaded again finishes the work.
async fn a_job_runs_in_a_lowered_worker_and_ends_when_the_worker_is_killed(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    let rows = 20_000;
    let list = many(rows);
    let job = start_import(&app, token, "mode=skip_invalid", list.clone().into_bytes()).await;
    let worker = worker_of(&id_of(&job)).await;
    let (own_session, own_nice) = session_and_nice(std::process::id()).unwrap();
    let path = format!("/api/v1/imports/{}", id_of(&job));
    let groups = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
        .is_ok_and(|enabled| enabled.trim() == "1");
    // Lowered once it has started (the job running, a batch committed).
    loop {
        let now: Value = app.get(&path, token).await.json().await.unwrap();
        assert!(
            now["status"] == "queued" || now["status"] == "running",
            "{now}"
        );
        if now["rows_done"].as_i64().unwrap() >= 1_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (session, nice) = session_and_nice(worker).expect("the worker runs");
    assert_eq!(session, worker, "the worker leads a session of its own");
    assert_ne!(session, own_session);
    assert_eq!(nice, (own_nice + 10).min(19), "the worker's nice value");
    if groups {
        let group = std::fs::read_to_string(format!("/proc/{worker}/autogroup")).unwrap();
        assert!(group.trim_end().ends_with("nice 19"), "{group}");
    }

    // SAFETY: kill sends a signal to the process, nothing more.
    let killed = unsafe { libc::kill(worker as libc::pid_t, libc::SIGKILL) };
    assert_eq!(killed, 0, "{}", std::io::Error::last_os_error());
    let ended = finished(&app, token, &job).await;
    assert_failed_saying(&ended, "stopped with the process that ran it");
    let [done, created, ..] = counts(&ended);
    assert!(done > 0 && done < rows as i64 && done % 250 == 0, "{ended}");
    assert_eq!(created, done);
    let entries = app.audit_entries(&c.auditor.token).await;
    assert_eq!(count_of(&entries, "detainee.create"), done as usize);
    let finishes = entries
        .iter()
        .filter(|e| e["action"] == "import.finish" && e["entity_id"] == id_of(&job).as_str())
        .count();
    assert_eq!(finishes, 1);

    let resumed = import(&app, token, "mode=skip_invalid", &list).await;
    assert_eq!(resumed["status"], "succeeded", "{resumed}");
    assert_eq!(
        counts(&resumed)[..5],
        [rows as i64, rows as i64 - done, 0, done, 0]
    );
    assert_eq!(app.verify_report(&c.auditor.token).await["ok"], true);
}

/// A worker that cannot be started (its program is missing): the job
/// ends failed at once, saying so, with its `import.finish`; nothing is
/// imported and the upload is removed.
async fn a_job_whose_worker_cannot_start_fails_saying_so(engine: Engine) {
    let app = spawn_app_with(engine, |settings| {
        settings.import_worker_program = "/nonexistent/sijill".into();
    })
    .await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    let ended = import(&app, token, "mode=skip_invalid", &many(10)).await;
    assert_failed_saying(&ended, "could not start the job");
    assert_eq!(counts(&ended), [0; 6]);
    let entries = app.audit_entries(&c.auditor.token).await;
    assert_eq!(count_of(&entries, "import.finish"), 1);
    assert_eq!(count_of(&entries, "detainee.create"), 0);
    let uploads = app.settings.data_dir.join("imports");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 0);
}

/// Two uploads of one list at once, repeatedly: each person gets one file.
async fn the_same_list_imported_twice_at_once_opens_each_file_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let (token, username) = (caseworker.token, caseworker.username);
    let auditor = app.user_with_role("auditor").await;
    for round in 0..4 {
        let list = many(700).replace("R-", &format!("R{round}-"));
        let (a, b) = tokio::join!(
            start_import(&app, &token, "mode=skip_invalid", list.clone().into_bytes()),
            start_import(&app, &token, "mode=skip_invalid", list.clone().into_bytes()),
        );
        let (a, b) = (
            finished(&app, &token, &a).await,
            finished(&app, &token, &b).await,
        );
        assert_eq!(
            (a["status"].as_str(), b["status"].as_str()),
            (Some("succeeded"), Some("succeeded"))
        );
        assert_eq!(counts(&a)[1] + counts(&b)[1], 700, "{a} {b}");
        assert_eq!(counts(&a)[3] + counts(&b)[3], 700, "{a} {b}");
    }
    // The command line and the server at once: two processes, taking turns
    // through the organisation's row.
    let list = many(700).replace("R-", "RC-");
    let path =
        std::env::temp_dir().join(format!("sijill-race-{}.csv", uuid::Uuid::now_v7().simple()));
    std::fs::write(&path, &list).unwrap();
    let mut command = sijill(&app.db);
    command.args([
        "import",
        path.to_str().unwrap(),
        "--as",
        &username,
        "--mode",
        "skip_invalid",
    ]);
    let cli = tokio::task::spawn_blocking(move || command.output().unwrap());
    let http = start_import(&app, &token, "mode=skip_invalid", list.into_bytes()).await;
    let output = cli.await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let http = finished(&app, &token, &http).await;
    assert_eq!(http["status"], "succeeded");
    let page: Value = app
        .get("/api/v1/imports?limit=2", &token)
        .await
        .json()
        .await
        .unwrap();
    let both: Vec<&Value> = page["items"].as_array().unwrap().iter().collect();
    assert_eq!(counts(both[0])[1] + counts(both[1])[1], 700, "{both:?}");
    assert_eq!(counts(both[0])[3] + counts(both[1])[3], 700, "{both:?}");
    std::fs::remove_file(&path).unwrap();
    let entries = app.audit_entries(&auditor.token).await;
    assert_eq!(count_of(&entries, "detainee.create"), 3_500);
}

/// Files opened one at a time while imports open thousands, repeatedly:
/// a batch writes its name keys before it takes the reference counter and
/// the chain, last, and each file still gets a reference of its own, the
/// references run without a gap, and the chain verifies. (That writers
/// wait less is measured in bench/import.sh, not here.)
async fn files_opened_while_an_import_runs_get_references_of_their_own(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    let mut opened = 0;
    for round in 0..3 {
        let list = many(2_500).replace("R-", &format!("R{round}-"));
        let job = start_import(&app, token, "mode=skip_invalid", list.into_bytes()).await;
        // Four at a time, for as long as the job runs.
        let before = opened;
        loop {
            let now: Value = app
                .get(&format!("/api/v1/imports/{}", id_of(&job)), token)
                .await
                .json()
                .await
                .unwrap();
            if !matches!(now["status"].as_str(), Some("queued" | "running")) {
                break;
            }
            let app = &app;
            futures_util::future::join_all((0..4).map(|i| {
                let name = format!("Walid Sami Round{round} Create{opened} {i}");
                let body = json!({"full_name": name, "status": "detained"});
                async move { new_file(app, token, &body).await }
            }))
            .await;
            opened += 4;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(opened > before, "no file was opened while the import ran");
        let job = finished(&app, token, &job).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(counts(&job)[1], 2_500, "{job}");
    }
    let export = app
        .get("/api/v1/detainees/export?format=jsonl", token)
        .await
        .text()
        .await
        .unwrap();
    let mut references: Vec<u64> = export
        .lines()
        .map(|line| {
            let file: Value = serde_json::from_str(line).unwrap();
            file["reference"].as_str().unwrap()["SJL-".len()..]
                .parse()
                .unwrap()
        })
        .collect();
    references.sort_unstable();
    assert_eq!(references.len(), 3 * 2_500 + opened);
    assert_eq!(
        references,
        (1..=references.len() as u64).collect::<Vec<_>>(),
        "every reference once, none skipped"
    );
    let entries = app.audit_entries(&c.auditor.token).await;
    assert_eq!(count_of(&entries, "detainee.create"), 3 * 2_500 + opened);
    assert_eq!(app.verify_report(&c.auditor.token).await["ok"], true);
}

async fn workbooks_json_lines_and_saved_mappings(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    // An XLSX workbook: text, numbers, a date cell.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in [
        "رقم الملف",
        "Name",
        "تاريخ الاعتقال",
        "تاريخ الميلاد",
        "الحالة",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    sheet.write_number(1, 0, 1001.0).unwrap();
    sheet.write_string(1, 1, "Bassel Khartabil").unwrap();
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2012, 3, 15).unwrap();
    let format = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
    sheet
        .write_datetime_with_format(1, 2, &date, &format)
        .unwrap();
    sheet.write_number(1, 3, 1981.0).unwrap();
    sheet.write_string(1, 4, "مختفي قسرياً").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let res = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(token)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .header("sijill-filename", "list%20%D8%A3.xlsx")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["format"], "xlsx");
    assert_eq!(job["file_name"], "list أ.xlsx");
    let job = finished(&app, token, &job).await;
    assert_eq!(
        job["status"],
        "succeeded",
        "{job} {:?}",
        report(&app, token, &job).await
    );
    let file = by_ref(&app, token, "1001").await.unwrap();
    assert_eq!(file["full_name"], "Bassel Khartabil");
    assert_eq!(file["detained_on"], "2012-03-15");
    assert_eq!(file["birth_date"], "1981");
    assert_eq!(file["status"], "disappeared");

    // JSON Lines, keys as the API names the fields.
    let lines = "{\"external_ref\":\"J-1\",\"full_name\":\"Razan Zaitouneh\",\"aliases\":[\"رزان\"],\"sex\":\"female\",\"detained_on\":\"2013-12\"}\nnot json\n";
    let job = import(&app, token, "format=jsonl&mode=skip_invalid", lines).await;
    assert_eq!(counts(&job)[..5], [2, 1, 0, 0, 1], "{job}");
    assert_eq!(report(&app, token, &job).await[0].2, "unreadable_row");
    assert_eq!(
        by_ref(&app, token, "J-1").await.unwrap()["aliases"],
        json!(["رزان"])
    );

    // A saved mapping: headers no rule knows, a column left out, a constant.
    let res = app
        .post(
            "/api/v1/import-mappings",
            token,
            &json!({"name": "Liste 2024", "columns": {"Nom": "full_name", "Numéro": "external_ref", "Père": "father_name", "Commentaire": null}, "constants": {"status": "مختفي قسرياً"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let mapping: Value = res.json().await.unwrap();
    let res = app
        .get(
            &format!("/api/v1/import-mappings/{}", id_of(&mapping)),
            token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let list = "Numéro,Nom,Commentaire,Mystère\nM-1,Yara Saleh,anything,x\n";
    let job = import(&app, token, &format!("mapping={}", id_of(&mapping)), list).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let lines = report(&app, token, &job).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].0, lines[0].1.as_str(), lines[0].2.as_str()),
        (1, "Mystère", "unknown_column")
    );
    let file = by_ref(&app, token, "M-1").await.unwrap();
    assert_eq!(
        (file["full_name"].as_str(), file["status"].as_str()),
        (Some("Yara Saleh"), Some("disappeared"))
    );
    // Another organisation's mapping is not there for others.
    let stranger = c.stranger.token.clone();
    let res = app
        .get(
            &format!("/api/v1/import-mappings/{}", id_of(&mapping)),
            &stranger,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = upload(
        &app,
        &stranger,
        &format!("mapping={}", id_of(&mapping)),
        b"a\n".to_vec(),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .post(
            "/api/v1/import-mappings",
            token,
            &json!({"name": "x", "columns": {"A": "colour"}}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
}

async fn imports_are_refused_as_they_should_be(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.import_max_bytes = 10_000).await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    // Who may do what.
    let cases = [
        (&c.owner.token, StatusCode::ACCEPTED, StatusCode::OK),
        (&c.auditor.token, StatusCode::FORBIDDEN, StatusCode::OK),
        (
            &c.reviewer.token,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
        (
            &c.family.token,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
    ];
    let mut owner_job = None;
    for (who, upload_status, list_status) in cases {
        let res = upload(&app, who, "", b"full_name\nA B\n".to_vec()).await;
        assert_eq!(res.status(), upload_status);
        if upload_status == StatusCode::ACCEPTED {
            owner_job = Some(finished(&app, token, &res.json::<Value>().await.unwrap()).await);
        }
        assert_eq!(app.get("/api/v1/imports", who).await.status(), list_status);
    }
    let admin = app.admin_token().await;
    assert_eq!(
        upload(&app, &admin, "", b"full_name\nA\n".to_vec())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let job = owner_job.unwrap();
    // An auditor reads every job and report; another organisation's caseworker none.
    let path = format!("/api/v1/imports/{}", id_of(&job));
    assert_eq!(
        app.get(&path, &c.auditor.token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("{path}/report"), &c.auditor.token)
            .await
            .status(),
        StatusCode::OK
    );
    assert_problem(app.get(&path, &c.stranger.token).await, 404, "not_found").await;
    assert_problem(
        app.post(&format!("{path}/cancel"), &c.stranger.token, &json!({}))
            .await,
        404,
        "not_found",
    )
    .await;
    let page: Value = app
        .get("/api/v1/imports", &c.stranger.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    // Bad uploads.
    assert_problem(
        upload(&app, token, "", Vec::new()).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        upload(&app, token, "", vec![b'a'; 10_001]).await,
        413,
        "payload_too_large",
    )
    .await;
    assert_problem(
        upload(&app, token, "format=pdf", b"x".to_vec()).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        upload(&app, token, "surprise=1", b"x".to_vec()).await,
        400,
        "unknown_parameter",
    )
    .await;
    let res = app
        .client
        .post(app.url("/api/v1/imports"))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_query").await;
    let res = app
        .client
        .post(app.url("/api/v1/imports?format=csv"))
        .bearer_auth(token)
        .header("sijill-filename", "a%0Ab.csv")
        .body("full_name\nA\n")
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
    // Not a workbook: the job fails, saying so.
    let res = upload(&app, token, "format=xlsx", b"full_name\nA\n".to_vec()).await;
    let job = finished(&app, token, &res.json::<Value>().await.unwrap()).await;
    assert_eq!(job["status"], "failed");
    assert!(job["error"].as_str().unwrap().contains("XLSX"), "{job}");
    // An external reference is unique in an organisation, not across them.
    new_file(
        &app,
        token,
        &json!({"full_name": "A", "external_ref": "E-1"}),
    )
    .await;
    let res = app
        .post(
            "/api/v1/detainees",
            token,
            &json!({"full_name": "B", "external_ref": "E-1"}),
        )
        .await;
    assert_problem(res, 409, "external_ref_taken").await;
    new_file(
        &app,
        &c.stranger.token,
        &json!({"full_name": "C", "external_ref": "E-1"}),
    )
    .await;
    assert_problem(
        app.get("/api/v1/imports/not-a-uuid", token).await,
        400,
        "invalid_path",
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/imports/{}", uuid::Uuid::now_v7()), token)
            .await,
        404,
        "not_found",
    )
    .await;
    // Nothing is left of refused uploads, nor of the workbook's once its
    // worker has exited: the server removes an upload when it has seen its
    // worker exit, a moment after the job's end is visible.
    let uploads = app.settings.data_dir.join("imports");
    let mut left = usize::MAX;
    for _ in 0..100 {
        left = std::fs::read_dir(&uploads).unwrap().count();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "{uploads:?}");
}

async fn the_command_line_imports_with_the_same_rules(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    prison(&app, &c.owner.token).await;
    let dir = std::env::temp_dir().join(format!("sijill-import-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("list.csv");
    std::fs::write(&list, a_list()).unwrap();
    let report_file = dir.join("report.csv");
    let output = sijill(&app.db)
        .args([
            "import",
            list.to_str().unwrap(),
            "--as",
            &c.owner.username,
            "--mode",
            "skip_invalid",
            "--report",
            report_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("succeeded")
            && stderr.contains("4 created")
            && stderr.contains("3 invalid"),
        "{stderr}"
    );
    let report_text = std::fs::read_to_string(&report_file).unwrap();
    assert!(report_text.starts_with("row,column,code,message\n"));
    assert!(
        report_text.contains("4,تاريخ الاعتقال,unreadable_value"),
        "{report_text}"
    );
    // The same job as over HTTP: listed, audited.
    let page: Value = app
        .get("/api/v1/imports", &c.owner.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["file_name"], "list.csv");
    assert_eq!(page["items"][0]["created"], 4);
    // All or nothing (the default) fails, and says so with the exit status.
    let output = sijill(&app.db)
        .args(["import", list.to_str().unwrap(), "--as", &c.owner.username])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was imported"));
    // Only caseworkers import.
    let output = sijill(&app.db)
        .args([
            "import",
            list.to_str().unwrap(),
            "--as",
            &c.auditor.username,
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert_eq!(app.verify_report(&c.auditor.token).await["ok"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn the_corpus_and_the_rules_agree(_engine: Engine) {
    let dir = std::env::temp_dir().join(format!("sijill-corpus-{}", uuid::Uuid::now_v7().simple()));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/import_corpus.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(&dir)
        .args(["--rows", "3000", "--seed", "7"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let mut reader = csv::Reader::from_path(dir.join("corpus.csv")).unwrap();
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_owned())
        .collect();
    let columns: Vec<Column> = headers
        .iter()
        .map(|h| column_of(h).unwrap_or_else(|| panic!("unknown header {h}")))
        .collect();
    let rows: Vec<HashMap<Column, String>> = reader
        .records()
        .map(|r| {
            columns
                .iter()
                .copied()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3000);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    let row = |line: &Value| &rows[line.as_u64().unwrap() as usize - 2];
    let dates = [Field::BirthDate, Field::DetainedOn, Field::LastSeenOn];
    for line in truth["mixed_dates"].as_array().unwrap() {
        for field in dates {
            let cell = &row(line)[&Column::Field(field)];
            assert!(read_date(cell).is_ok(), "line {line}: {cell}");
        }
    }
    for unreadable in truth["unreadable"].as_array().unwrap() {
        let cell = unreadable["found"].as_str().unwrap();
        let refused = match unreadable["column"].as_str().unwrap() {
            "الحالة" => read_enum(cell, STATUS, "a status").is_err(),
            "الجنس" => read_enum(cell, SEX, "a sex").is_err(),
            _ => read_date(cell).is_err(),
        };
        assert!(refused, "{unreadable}");
    }
    for line in truth["new"].as_array().unwrap() {
        let r = row(line);
        assert!(read_enum(&r[&Column::Field(Field::Status)], STATUS, "a status").is_ok());
        assert!(read_enum(&r[&Column::Field(Field::Sex)], SEX, "a sex").is_ok());
        for field in dates {
            assert!(read_date(&r[&Column::Field(field)]).is_ok());
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The insider's route around the release gate: a list marks a cleared
/// file `released`, and a colleague's edit of the accusation (which sends
/// the file back to review) lands while the import runs. Whichever pass
/// sees the edit, the release never lands.
async fn an_import_cannot_release_a_file_whose_review_an_edit_undid(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    let cleared = cleared_file(&app, &c).await;
    let path = format!("/api/v1/detainees/{cleared}");
    let res = app
        .patch(&path, token, "*", &json!({"external_ref": "REL-1"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Many rows first, the release last: the edit lands while they are read.
    let mut list = many(4_000);
    list.push_str("REL-1,Anas Firas Al-Ali,,released\n");
    let job = start_import(&app, token, "", list.into_bytes()).await;
    let res = app
        .patch(
            &path,
            token,
            "*",
            &json!({"category": "criminal_accusation", "accusation_summary": "Newly accused."}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let job = finished(&app, token, &job).await;
    let file = file_of(&app, token, &cleared).await;
    assert_ne!(file["status"], "released", "{job}");
    assert_eq!(file["review_status"], "not_reviewed");
    assert_eq!(job["status"], "failed", "{job}");
    let lines = report(&app, token, &job).await;
    assert!(
        lines.iter().any(|l| l.2 == "review_required")
            || job["error"].as_str().unwrap().contains("rolled back"),
        "{job} {lines:?}"
    );
    assert_eq!(app.verify_report(&c.auditor.token).await["ok"], true);
}

/// Deactivating the account that started an import stops it before its
/// next batch; so do more imports than an organisation may queue.
async fn an_import_stops_when_its_account_may_no_longer_import(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let caseworker = app.user_with_role("caseworker").await;
    let list = many(6_000);
    let job = start_import(
        &app,
        &caseworker.token,
        "mode=skip_invalid",
        list.clone().into_bytes(),
    )
    .await;
    let mut queued = Vec::new();
    for _ in 0..3 {
        queued.push(
            start_import(
                &app,
                &caseworker.token,
                "mode=skip_invalid",
                list.clone().into_bytes(),
            )
            .await,
        );
    }
    let res = upload(
        &app,
        &caseworker.token,
        "mode=skip_invalid",
        list.clone().into_bytes(),
    )
    .await;
    let problem = assert_problem(res, 409, "conflict").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("queued or running"),
        "{problem}"
    );
    let user = format!("/api/v1/users/{}", caseworker.id);
    let res = app
        .patch(&user, &admin, "*", &json!({"active": false}))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    let auditor = app.user_with_role("auditor").await;
    for job in std::iter::once(&job).chain(&queued) {
        let job = finished(&app, &auditor.token, job).await;
        assert_eq!(job["status"], "failed", "{job}");
        assert!(
            job["error"]
                .as_str()
                .unwrap()
                .contains("may no longer import"),
            "{job}"
        );
        assert!(
            counts(&job)[0] < 6_000 && counts(&job)[0] % 250 == 0,
            "{job}"
        );
    }
    assert_eq!(app.verify_report(&auditor.token).await["ok"], true);
}

/// Spreadsheets have unheaded columns between headed ones: each cell stays
/// under its own header (a first reader merged the blank headers into one
/// and shifted every column after them), and each is reported by its
/// number. Two columns whose headers read the same and name a field refuse
/// the file — which of the two is the person's name? — while a column no
/// rule knows may repeat (it is left out either way).
async fn columns_without_a_header_keep_their_place(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let token = &caseworker.token;
    let job = import(
        &app,
        token,
        "mode=skip_invalid",
        "external_ref,full_name,,,sex,status,Remarks,Remarks\n\
         BL-1,Samira Haddad,scribble,,female,disappeared,a,b\n",
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["created"], 1, "{job}");
    let file = by_ref(&app, token, "BL-1").await.expect("BL-1 imported");
    assert_eq!(file["full_name"], "Samira Haddad");
    assert_eq!(file["sex"], "female");
    assert_eq!(file["status"], "disappeared");
    let lines = report(&app, token, &job).await;
    let unheaded: Vec<&str> = lines
        .iter()
        .filter(|(_, _, code, _)| code == "unknown_column")
        .map(|(_, _, _, message)| message.as_str())
        .filter(|message| message.contains("no header"))
        .collect();
    assert_eq!(
        unheaded,
        [
            "column 3 has no header: its values are left out",
            "column 4 has no header: its values are left out"
        ],
        "{lines:?}"
    );

    let job = import(
        &app,
        token,
        "mode=skip_invalid",
        "external_ref,full_name,sex,Full Name\nBL-2,Ahmad Saleh,male,Ahmed Salih\n",
    )
    .await;
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap_or("");
    assert!(
        error.contains("`full_name` (column 2) and `Full Name` (column 4)")
            && error.contains("nothing was imported"),
        "{job}"
    );
    assert!(by_ref(&app, token, "BL-2").await.is_none());
}

/// Another session of the database at work, as a long report would be:
/// a statement running, again and again, until dropped (PostgreSQL);
/// `None` on SQLite.
struct SomeoneAtWork {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn someone_at_work(db: &TestDatabase) -> Option<SomeoneAtWork> {
    use diesel::{Connection, RunQueryDsl};
    use std::sync::atomic::Ordering;
    (db.engine == Engine::Postgres).then(|| {
        let mut conn = diesel::PgConnection::establish(&db.url).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                diesel::sql_query("SELECT pg_sleep(0.2)")
                    .execute(&mut conn)
                    .unwrap();
            }
        });
        SomeoneAtWork {
            stop,
            thread: Some(thread),
        }
    })
}

impl Drop for SomeoneAtWork {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// While another session of the database runs statements, an import
/// pauses before its batches on PostgreSQL (`imports::pacing`), over HTTP and on
/// the command line, and counts the pauses in the job; it still finishes
/// whole, every file audited. `SIJILL_IMPORT_YIELD=0` turns the pauses
/// off; SQLite's imports never pause. (What the pauses buy the readers is
/// measured in bench/import.sh; that an idle database is never waited for
/// is a unit test: this test's PostgreSQL database is shared with the
/// tests running beside it.)
async fn an_import_yields_while_others_are_at_work_and_finishes_whole(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = &c.owner.token;
    let other = someone_at_work(&app.db);
    let job = import(&app, token, "mode=skip_invalid", &many(3_000)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(counts(&job)[..5], [3_000, 3_000, 0, 0, 0], "{job}");
    let yielded = job["yielded_ms"].as_i64().unwrap();
    match engine {
        Engine::Postgres => assert!(yielded > 0, "paused: {job}"),
        Engine::Sqlite => assert_eq!(yielded, 0, "never pauses: {job}"),
    }
    let dir = std::env::temp_dir().join(format!("sijill-yield-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for (factor, pauses) in [("3", engine == Engine::Postgres), ("0", false)] {
        let list = dir.join(format!("list-{factor}.csv"));
        std::fs::write(&list, many(1_500).replace("R-", &format!("Y{factor}-"))).unwrap();
        let output = sijill(&app.db)
            .env("SIJILL_IMPORT_YIELD", factor)
            .args([
                "import",
                list.to_str().unwrap(),
                "--as",
                &c.owner.username,
                "--report",
                dir.join("report.csv").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("1500 created"), "{stderr}");
        assert_eq!(
            stderr.contains("while others were served"),
            pauses,
            "SIJILL_IMPORT_YIELD={factor}: {stderr}"
        );
    }
    drop(other);
    let page: Value = app
        .get("/api/v1/imports", token)
        .await
        .json()
        .await
        .unwrap();
    let yielded: Vec<bool> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["yielded_ms"].as_i64().unwrap() > 0)
        .collect();
    let on_postgres = engine == Engine::Postgres;
    // Newest first: the command line's without pauses, with, the server's.
    assert_eq!(yielded, [false, on_postgres, on_postgres]);
    let entries = app.audit_entries(&c.auditor.token).await;
    assert_eq!(count_of(&entries, "detainee.create"), 6_000);
    assert_eq!(app.verify_report(&c.auditor.token).await["ok"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}
