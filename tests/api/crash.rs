//! `kill -9` of the server in the middle of audited writes, then a restart
//! on the same database (and data directory): every write it acknowledged
//! is there, no change is there without its audit entry nor an entry without
//! its change, and the chain verifies — by the API, recomputed, and by
//! `sijill audit verify`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

/// SIGKILL (what `Child::kill` sends on Unix): no shutdown of any kind.
fn kill_9(mut server: ServerProcess) {
    server.child.kill().unwrap();
    let status = server.child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "{status:?}");
}

/// Acknowledged writes: files, and custody records with their file.
#[derive(Default)]
struct Acknowledged {
    files: Vec<String>,
    custody: Vec<(String, String)>,
}

/// Writers creating files and custody records until the server dies; each
/// stops at its first request without an answer.
async fn write_until_killed(
    server: ServerProcess,
    token: &str,
    facility: &str,
    acknowledged: &mut Acknowledged,
) {
    let base = server.address.clone();
    let files_now = Arc::new(AtomicUsize::new(0));
    let dead = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (base, token, facility) = (base.clone(), token.to_owned(), facility.to_owned());
            let (files_now, dead) = (files_now.clone(), dead.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut mine = Acknowledged::default();
                let mut n = 0;
                // A created object's id, or `None` once the server is dead
                // (whatever was in flight then has no answer, or half of one).
                let create = |url: String, body: Value| {
                    let (client, token, dead) = (&client, &token, &dead);
                    async move {
                        let answer = client
                            .post(url)
                            .bearer_auth(token)
                            .json(&body)
                            .timeout(Duration::from_secs(30))
                            .send()
                            .await;
                        let res = match answer {
                            Ok(res) => res,
                            Err(_) if dead.load(Ordering::SeqCst) => return None,
                            Err(e) => panic!("no answer from a live server: {e}"),
                        };
                        // Until the kill, every write succeeds.
                        assert_eq!(res.status(), 201, "{:?}", res.text().await);
                        let created: Value = res.json().await.ok()?;
                        Some(created["id"].as_str().unwrap().to_owned())
                    }
                };
                loop {
                    n += 1;
                    let body = json!({"full_name": format!("Crash Writer{w} File{n}")});
                    let Some(id) = create(format!("{base}/api/v1/detainees"), body).await else {
                        return mine;
                    };
                    mine.files.push(id.clone());
                    files_now.fetch_add(1, Ordering::SeqCst);
                    let body = json!({"facility_id": facility, "from": "2013"});
                    let url = format!("{base}/api/v1/detainees/{id}/custody");
                    let Some(record) = create(url, body).await else {
                        return mine;
                    };
                    mine.custody.push((id, record));
                }
            })
        })
        .collect();
    // Mid-load: the writers are still sending when it dies.
    let started = Instant::now();
    while files_now.load(Ordering::SeqCst) < 25 {
        assert!(started.elapsed() < Duration::from_secs(60), "too slow");
        if let Some(stopped) = writers.iter().position(|w| w.is_finished()) {
            let writers = writers;
            writers
                .into_iter()
                .nth(stopped)
                .unwrap()
                .await
                .expect("a writer");
            panic!("a writer stopped while the server was alive");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dead.store(true, Ordering::SeqCst);
    kill_9(server);
    for writer in writers {
        let mine = writer.await.expect("a writer");
        acknowledged.files.extend(mine.files);
        acknowledged.custody.extend(mine.custody);
    }
}

/// Every item of a paged listing.
async fn all_items(client: &reqwest::Client, base: &str, path: &str, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}{path}{sep}limit=200&cursor={c}"),
            None => format!("{base}{path}{sep}limit=200"),
        };
        let res = client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let page: Value = res.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

async fn killed_mid_write_the_server_keeps_every_acknowledged_write(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;
    let facility = new_facility(&app, &caseworker.token).await;
    // One serving process per SQLite file: this one stops before the others.
    let db = app.stop().await;

    let mut acknowledged = Acknowledged::default();
    for _ in 0..3 {
        let server = ServerProcess::start(&db);
        write_until_killed(server, &caseworker.token, &facility, &mut acknowledged).await;
    }
    assert!(acknowledged.files.len() >= 75);

    // Restarted on the same database and data directory.
    let server = ServerProcess::start(&db);
    let base = server.address.clone();
    let client = reqwest::Client::new();

    let files: BTreeSet<String> = all_items(&client, &base, "/api/v1/detainees", &caseworker.token)
        .await
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &acknowledged.files {
        assert!(files.contains(id), "acknowledged file {id} is gone");
    }
    let mut records = BTreeSet::new();
    for id in &files {
        for record in all_items(
            &client,
            &base,
            &format!("/api/v1/detainees/{id}/custody"),
            &caseworker.token,
        )
        .await
        {
            records.insert(record["id"].as_str().unwrap().to_owned());
        }
    }
    for (file, id) in &acknowledged.custody {
        assert!(
            records.contains(id),
            "acknowledged custody record {id} of {file} is gone"
        );
    }
    eprintln!(
        "crash: {} files and {} custody records acknowledged before three kills; \
         {} and {} there after the restart",
        acknowledged.files.len(),
        acknowledged.custody.len(),
        files.len(),
        records.len()
    );

    // Each change with its audit entry, or neither: whatever the kill
    // interrupted is wholly there or wholly absent.
    let entries = all_items(&client, &base, "/api/v1/audit", &auditor.token).await;
    recompute_chain(&entries).unwrap();
    let audited = |action: &str| -> BTreeSet<String> {
        entries
            .iter()
            .filter(|e| e["action"] == action && e["actor_id"] == caseworker.id.as_str())
            .map(|e| e["entity_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(audited("detainee.create"), files);
    assert_eq!(audited("custody.create"), records);
    let report: Value = client
        .get(format!("{base}/api/v1/audit/verify"))
        .bearer_auth(&auditor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["checked"], report["head_seq"], "{report}");
    kill_9(server);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sijill"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &db.url)
        .env("SIJILL_DATA_DIR", db.dir.join("data"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
}

scenarios! {
    both: [
        killed_mid_write_the_server_keeps_every_acknowledged_write,
        killed_mid_import_the_server_keeps_whole_batches_and_the_list_finishes_again,
    ],
}

/// `kill -9` while an import runs: at the restart the job ends failed
/// (with its `import.finish`), its upload is gone, what it committed is
/// whole batches — each file with its entry — and the same list uploaded
/// again finishes the work, leaving the committed rows unchanged.
async fn killed_mid_import_the_server_keeps_whole_batches_and_the_list_finishes_again(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;
    let db = app.stop().await;
    let rows = 20_000;
    let mut list = "external_ref,full_name,status\n".to_owned();
    for i in 0..rows {
        list.push_str(&format!("K-{i},Killed Import{i} Person,detained\n"));
    }
    let client = reqwest::Client::new();
    let upload = |base: String, list: String| {
        let (client, token) = (client.clone(), caseworker.token.clone());
        async move {
            let res = client
                .post(format!(
                    "{base}/api/v1/imports?format=csv&mode=skip_invalid"
                ))
                .bearer_auth(token)
                .body(list)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 202);
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let job_of = |base: String, id: String| {
        let (client, token) = (client.clone(), auditor.token.clone());
        async move {
            client
                .get(format!("{base}/api/v1/imports/{id}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let server = ServerProcess::start(&db);
    let id = upload(server.address.clone(), list.clone()).await;
    // Killed once a batch or more is committed, before the last.
    let started = Instant::now();
    loop {
        let job = job_of(server.address.clone(), id.clone()).await;
        if job["rows_done"].as_i64().unwrap() >= 1_000 {
            break;
        }
        assert!(
            job["status"] == "queued" || job["status"] == "running",
            "{job}"
        );
        assert!(started.elapsed() < Duration::from_secs(120));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill_9(server);

    let server = ServerProcess::start(&db);
    let base = server.address.clone();
    let job = job_of(base.clone(), id.clone()).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("stopped with the process"),
        "{job}"
    );
    let uploads = db.dir.join("data").join("imports");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 0);
    let entries = all_items(&client, &base, "/api/v1/audit", &auditor.token).await;
    let created = entries
        .iter()
        .filter(|e| e["action"] == "detainee.create")
        .count();
    assert!(
        created > 0 && created < rows && created % 1_000 == 0,
        "{created}"
    );
    assert_eq!(created as i64, job["rows_done"].as_i64().unwrap(), "{job}");
    let finished = entries
        .iter()
        .filter(|e| e["action"] == "import.finish" && e["entity_id"] == id.as_str())
        .count();
    assert_eq!(finished, 1);

    let again = upload(base.clone(), list).await;
    let job = loop {
        let job = job_of(base.clone(), again.clone()).await;
        if job["status"] != "queued" && job["status"] != "running" {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["unchanged"].as_i64().unwrap(), created as i64);
    assert_eq!(job["created"].as_i64().unwrap(), (rows - created) as i64);
    let report: Value = client
        .get(format!("{base}/api/v1/audit/verify"))
        .bearer_auth(&auditor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
}
