//! Evidence attachments: stored once, encrypted, checked on the way in,
//! read back whole or in ranges by whoever sees the file, archived by the
//! file's caseworkers, purged only by an admin; and `source_notes`
//! encrypted at rest beside them (docs/attachments.md, docs/security.md).

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::scenarios;

scenarios! {
    both: [
        an_attachment_is_stored_once_encrypted_and_read_back_whole_or_in_ranges,
        bad_uploads_are_refused_and_leave_nothing_behind,
        who_reads_follows_who_sees_the_file,
        archive_then_an_admins_purge_removes_the_content_and_keeps_the_record,
        racing_uploads_and_purges_of_one_content_lose_nothing,
        nothing_secret_is_stored_in_clear_and_the_key_is_required,
        verify_names_the_changed_and_the_missing_objects,
        a_key_rotation_reencrypts_everything_and_is_audited,
    ],
    both_with_s3: [
        attachments_live_in_an_s3_compatible_store,
    ],
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A new file of the caseworker's (`token`); its id.
async fn a_file(app: &TestApp, token: &str) -> String {
    id_of(&new_file(app, token, &json!({"full_name": "Rami Nabil Saleh"})).await)
}

/// The objects in the attachment directory: (name, bytes).
fn stored_objects(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let dir = app.settings.data_dir.join("attachments/objects");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn download(app: &TestApp, token: &str, id: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url(&format!("/api/v1/attachments/{id}/content")))
        .bearer_auth(token);
    if let Some(range) = range {
        req = req.header("Range", range);
    }
    req.send().await.unwrap()
}

async fn an_attachment_is_stored_once_encrypted_and_read_back_whole_or_in_ranges(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;
    let file = a_file(&app, &caseworker.token).await;
    // Several chunks and a ragged end.
    let content = pdf("CELLMATE-STATEMENT-7731", 300_001);
    let res = attach(
        &app,
        &caseworker.token,
        &file,
        "application/pdf",
        "شهادة زميل الزنزانة.pdf",
        content.clone(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let first: Value = res.json().await.unwrap();
    let id = id_of(&first);
    assert_eq!(location, format!("/api/v1/attachments/{id}"));
    assert_eq!(first["sha256"], sha256_hex(&content));
    assert_eq!(first["size"], content.len());
    assert_eq!(first["media_type"], "application/pdf");
    assert_eq!(first["filename"], "شهادة زميل الزنزانة.pdf");
    assert_eq!(first["detainee_id"], file.as_str());
    assert_eq!(first["uploaded_by"], caseworker.id.as_str());

    // Whole, with the headers that keep a browser from running it.
    let res = download(&app, &caseworker.token, &id, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert_eq!(
        headers["etag"],
        format!("\"{}\"", sha256_hex(&content)).as_str()
    );
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(
        headers["content-length"],
        content.len().to_string().as_str()
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox");
    assert_eq!(headers["accept-ranges"], "bytes");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''%D8%B4"),
        "{disposition}"
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), content.as_slice());

    // Ranges: inside one chunk, across chunks, the end, the last bytes.
    for (range, expected) in [
        ("bytes=10-19", &content[10..20]),
        ("bytes=65530-131080", &content[65530..131081]),
        ("bytes=299990-", &content[299990..]),
        ("bytes=-5", &content[content.len() - 5..]),
    ] {
        let res = download(&app, &auditor.token, &id, Some(range)).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        let total = content.len();
        let content_range = res.headers()["content-range"].to_str().unwrap().to_owned();
        assert!(
            content_range.ends_with(&format!("/{total}")),
            "{content_range}"
        );
        assert_eq!(res.bytes().await.unwrap().as_ref(), expected, "{range}");
    }
    let res = download(&app, &caseworker.token, &id, Some("bytes=300001-")).await;
    assert_problem(res, 416, "range_not_satisfiable").await;
    let res = app
        .client
        .get(app.url(&format!("/api/v1/attachments/{id}/content")))
        .bearer_auth(&caseworker.token)
        .header("If-None-Match", format!("\"{}\"", sha256_hex(&content)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // The same content again, on another file: a second attachment, one object.
    let other = id_of(
        &new_file(
            &app,
            &caseworker.token,
            &json!({"full_name": "Rami N. Saleh"}),
        )
        .await,
    );
    let second = attach_ok(&app, &caseworker.token, &other, content.clone()).await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["sha256"], first["sha256"]);
    let objects = stored_objects(&app);
    assert_eq!(objects.len(), 1, "the same content is stored once");
    assert!(
        !contains(&objects[0].1, b"CELLMATE-STATEMENT-7731"),
        "stored in clear"
    );
    let res = download(&app, &caseworker.token, &id_of(&second), None).await;
    assert_eq!(res.bytes().await.unwrap().as_ref(), content.as_slice());

    // Listed on its file, and audited with its hash; downloads in the access log.
    let page: Value = app
        .get(
            &format!("/api/v1/detainees/{file}/attachments"),
            &caseworker.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], id.as_str());
    let entries = app.audit_entries(&auditor.token).await;
    let created = entries
        .iter()
        .find(|e| e["action"] == "attachment.create" && e["entity_id"] == id.as_str())
        .expect("attachment.create");
    assert_eq!(created["entity_type"], "attachment");
    assert_eq!(created["changes"]["sha256"][1], sha256_hex(&content));
    assert_eq!(created["changes"]["detainee_id"][1], file.as_str());
    let viewed = app
        .get(&format!("/api/v1/detainees/{file}"), &caseworker.token)
        .await;
    assert_eq!(viewed.status(), StatusCode::OK);
    let access: Value = app
        .get(
            &format!("/api/v1/audit/access?entity_id={file}"),
            &auditor.token,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = access["items"].as_array().unwrap();
    let downloads: Vec<&Value> = items
        .iter()
        .filter(|e| e["action"] == "attachment.download")
        .collect();
    assert!(downloads.len() >= 5, "{access}");
    // Each names the attachment read; a read of the file itself names none.
    assert!(
        downloads.iter().all(|e| e["item_id"] == id.as_str()),
        "{access}"
    );
    let views: Vec<&Value> = items
        .iter()
        .filter(|e| e["action"] == "detainee.view")
        .collect();
    assert!(!views.is_empty(), "{access}");
    assert!(views.iter().all(|e| e["item_id"].is_null()), "{access}");
    assert!(app.verify_report(&auditor.token).await["ok"]
        .as_bool()
        .unwrap());
}

async fn bad_uploads_are_refused_and_leave_nothing_behind(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.attachment_max_bytes = 100_000).await;
    let caseworker = app.user_with_role("caseworker").await;
    let file = a_file(&app, &caseworker.token).await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
    // Declared type, file name, what is wrong, content → status, code.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Vec<u8>,
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "text/html",
            "page.html",
            "html",
            b"<script>alert(1)</script>".to_vec(),
            415,
            "unsupported_attachment_type",
        ),
        (
            "image/svg+xml",
            "a.svg",
            "svg",
            b"<svg/>".to_vec(),
            415,
            "unsupported_attachment_type",
        ),
        (
            "image/png",
            "photo.png",
            "a PDF called a PNG",
            pdf("x", 2000),
            422,
            "content_type_mismatch",
        ),
        (
            "application/pdf",
            "scan.pdf",
            "a PNG called a PDF",
            png.clone(),
            422,
            "content_type_mismatch",
        ),
        (
            "text/plain",
            "note.txt",
            "bytes that are not UTF-8",
            vec![0xff, 0xfe, 0x41],
            422,
            "content_type_mismatch",
        ),
        (
            "text/plain",
            "note.txt",
            "a NUL",
            b"abc\0def".to_vec(),
            422,
            "content_type_mismatch",
        ),
        (
            "application/pdf",
            "empty.pdf",
            "empty",
            Vec::new(),
            422,
            "empty_attachment",
        ),
        (
            "application/pdf",
            "big.pdf",
            "over the limit",
            pdf("x", 100_001),
            413,
            "payload_too_large",
        ),
        (
            "application/pdf",
            "",
            "no name",
            pdf("x", 100),
            400,
            "invalid_filename",
        ),
        (
            "application/pdf",
            "../../etc/passwd",
            "a path",
            pdf("x", 100),
            400,
            "invalid_filename",
        ),
        (
            "application/pdf",
            "a\nb.pdf",
            "a control character",
            pdf("x", 100),
            400,
            "invalid_filename",
        ),
        (
            "application/pdf",
            "invoice\u{202E}fdp.exe",
            "a bidi override",
            pdf("x", 100),
            400,
            "invalid_filename",
        ),
    ];
    for (media_type, name, what, content, status, code) in cases {
        let res = attach(&app, &caseworker.token, &file, media_type, name, content).await;
        let got = (
            res.status().as_u16(),
            res.headers().get("content-type").cloned(),
        );
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (got.0, body["code"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
        assert_eq!(got.1.unwrap(), "application/problem+json", "{what}");
    }
    // By hand, as no polite client sends them: no Content-Length (a
    // chunked body), and a Content-Length that lies (more promised than
    // sent, then the connection closes half-way).
    let head = |length: &str| {
        format!(
            "POST /api/v1/detainees/{file}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/pdf\r\nSijill-Filename: cut.pdf\r\n{length}\r\n\r\n",
            caseworker.token
        )
    };
    let mut chunked = head("Transfer-Encoding: chunked").into_bytes();
    let body = pdf("x", 1000);
    chunked.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
    chunked.extend_from_slice(&body);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let answer = raw_request(&app, &chunked).await;
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");
    assert!(answer.contains("length_required"), "{answer}");
    let mut lying = head("Content-Length: 90000").into_bytes();
    lying.extend_from_slice(&pdf("x", 70_000));
    let answer = raw_request(&app, &lying).await;
    assert!(!answer.starts_with("HTTP/1.1 201"), "{answer}");
    // Archived files take nothing; other organisations' files do not exist.
    let stranger = app.user_with_role("caseworker").await;
    let res = attach(
        &app,
        &stranger.token,
        &file,
        "application/pdf",
        "a.pdf",
        pdf("x", 100),
    )
    .await;
    assert_problem(res, 404, "not_found").await;
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
    let res = attach(
        &app,
        &caseworker.token,
        &archived,
        "application/pdf",
        "a.pdf",
        pdf("x", 100),
    )
    .await;
    assert_problem(res, 409, "conflict").await;

    // Nothing half-stored: no record, no object (the cut upload's abort
    // may finish just after its connection closed).
    let mut left = stored_objects(&app).len();
    for _ in 0..50 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = stored_objects(&app).len();
    }
    assert_eq!(left, 0, "objects left behind");
    assert_eq!(
        app.db
            .query_text("SELECT CAST(COUNT(*) AS TEXT) AS value FROM attachments"),
        "0"
    );
    let leftovers: Vec<_> = walk(&app.settings.data_dir.join("attachments"));
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Send `request` as it is, close the sending side, and read the answer
/// (what came within 10 s).
async fn raw_request(app: &TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), read).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

async fn who_reads_follows_who_sees_the_file(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let admin = app.admin_token().await;
    let file = id_of(&new_file(&app, &c.owner.token, &file_body(true)).await);
    let attachment = id_of(&attach_ok(&app, &c.owner.token, &file, pdf("x", 5000)).await);
    let paths = [
        format!("/api/v1/detainees/{file}/attachments"),
        format!("/api/v1/attachments/{attachment}"),
        format!("/api/v1/attachments/{attachment}/content"),
    ];
    let statuses = |token: String| {
        let (app, paths) = (&app, paths.clone());
        async move {
            let mut got = Vec::new();
            for path in &paths {
                got.push(app.get(path, &token).await.status().as_u16());
            }
            got
        }
    };
    // Before any review: the owner and auditors; a reviewer sees nothing yet.
    assert_eq!(statuses(c.owner.token.clone()).await, [200, 200, 200]);
    assert_eq!(statuses(c.auditor.token.clone()).await, [200, 200, 200]);
    assert_eq!(statuses(c.stranger.token.clone()).await, [404, 404, 404]);
    assert_eq!(statuses(c.reviewer.token.clone()).await, [404, 404, 404]);
    assert_eq!(statuses(c.family.token.clone()).await, [403, 403, 403]);
    assert_eq!(statuses(admin.clone()).await, [403, 403, 403]);
    // Under review: the reviewers who may act on it read its evidence …
    let review = id_of(&open(&app, &c.owner.token, &file).await);
    assert_eq!(statuses(c.reviewer.token.clone()).await, [200, 200, 200]);
    // … the family never, even while it is consulted.
    assert_eq!(statuses(c.family.token.clone()).await, [403, 403, 403]);
    // Claimed by one reviewer: the other's access ends.
    step_ok(&app, &c.reviewer.token, &review, "claim", json!({})).await;
    assert_eq!(statuses(c.colleague.token.clone()).await, [404, 404, 404]);
    assert_eq!(statuses(c.reviewer.token.clone()).await, [200, 200, 200]);
    // Only the owner's caseworkers write.
    for token in [&c.reviewer.token, &c.auditor.token] {
        let res = attach(
            &app,
            token,
            &file,
            "application/pdf",
            "a.pdf",
            pdf("y", 100),
        )
        .await;
        assert_problem(res, 403, "forbidden").await;
    }
    let res = app
        .delete(
            &format!("/api/v1/attachments/{attachment}"),
            &c.stranger.token,
            "*",
        )
        .await;
    assert_problem(res, 404, "not_found").await;
}

async fn archive_then_an_admins_purge_removes_the_content_and_keeps_the_record(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;
    let admin = app.admin_token().await;
    let file = a_file(&app, &caseworker.token).await;
    let shared = pdf("shared", 3000);
    let first = id_of(&attach_ok(&app, &caseworker.token, &file, shared.clone()).await);
    let second = id_of(&attach_ok(&app, &caseworker.token, &file, shared.clone()).await);
    let alone = id_of(&attach_ok(&app, &caseworker.token, &file, pdf("alone", 3000)).await);
    let purge = |id: String, body: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.post(&format!("/api/v1/attachments/{id}/purge"), &admin, &body)
                .await
        }
    };
    let reason = json!({"reason": "Uploaded to the wrong file; the family asked for removal."});
    // Not before it is archived.
    assert_problem(
        purge(first.clone(), reason.clone()).await,
        409,
        "not_archived",
    )
    .await;
    for id in [&first, &alone] {
        let res = app
            .delete(&format!("/api/v1/attachments/{id}"), &caseworker.token, "*")
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let archived: Value = res.json().await.unwrap();
        assert!(archived["archived_at"].is_string());
    }
    let res = app
        .delete(
            &format!("/api/v1/attachments/{first}"),
            &caseworker.token,
            "*",
        )
        .await;
    assert_problem(res, 409, "already_archived").await;
    // Hidden from the list unless asked; still readable.
    let listed = |query: &'static str| {
        let (app, token, file) = (&app, caseworker.token.clone(), file.clone());
        async move {
            let page: Value = app
                .get(
                    &format!("/api/v1/detainees/{file}/attachments{query}"),
                    &token,
                )
                .await
                .json()
                .await
                .unwrap();
            page["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(listed("").await, 1);
    assert_eq!(listed("?include_archived=true").await, 3);
    assert_eq!(
        download(&app, &caseworker.token, &first, None)
            .await
            .status(),
        200
    );
    // A reason is needed; caseworkers never purge.
    assert_eq!(
        purge(first.clone(), json!({"reason": ""})).await.status(),
        422
    );
    let res = app
        .post(
            &format!("/api/v1/attachments/{first}/purge"),
            &caseworker.token,
            &reason,
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(stored_objects(&app).len(), 2);
    // Purging one of two attachments of a content keeps the content …
    assert_eq!(purge(first.clone(), reason.clone()).await.status(), 204);
    assert_eq!(stored_objects(&app).len(), 2);
    assert_problem(
        download(&app, &caseworker.token, &first, None).await,
        410,
        "content_purged",
    )
    .await;
    let res = download(&app, &caseworker.token, &second, None).await;
    assert_eq!(res.bytes().await.unwrap().as_ref(), shared.as_slice());
    // … purging the last removes it from the store.
    assert_eq!(purge(alone.clone(), reason.clone()).await.status(), 204);
    assert_eq!(stored_objects(&app).len(), 1);
    assert_eq!(purge(alone.clone(), reason.clone()).await.status(), 409);
    // The record and its hash stay; the audit log says who, when and why.
    let record: Value = app
        .get(&format!("/api/v1/attachments/{alone}"), &caseworker.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(record["purged_at"].is_string());
    assert_eq!(record["sha256"], sha256_hex(&pdf("alone", 3000)));
    let entries = app.audit_entries(&auditor.token).await;
    let actions: Vec<&str> = entries
        .iter()
        .filter(|e| e["entity_type"] == "attachment")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "attachment.create",
            "attachment.create",
            "attachment.create",
            "attachment.archive",
            "attachment.archive",
            "attachment.purge",
            "attachment.purge"
        ]
    );
    let purged = entries
        .iter()
        .find(|e| e["action"] == "attachment.purge")
        .unwrap();
    assert_eq!(purged["actor_role"], "admin");
    assert_eq!(purged["changes"]["reason"][1], reason["reason"]);
    assert!(app.verify_report(&auditor.token).await["ok"]
        .as_bool()
        .unwrap());
}

/// Many uploads of one content at once are one object; a purge racing an
/// upload of the same content never leaves the new attachment without its
/// content.
async fn racing_uploads_and_purges_of_one_content_lose_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let admin = app.admin_token().await;
    let file = a_file(&app, &caseworker.token).await;
    for round in 0..6 {
        let content = pdf(&format!("round {round}"), 70_000);
        let uploads = (0..6).map(|_| {
            attach(
                &app,
                &caseworker.token,
                &file,
                "application/pdf",
                "a.pdf",
                content.clone(),
            )
        });
        for res in futures_util::future::join_all(uploads).await {
            assert_eq!(res.status(), StatusCode::CREATED);
        }
        let sha = sha256_hex(&content);
        let objects = app.db.query_text(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) AS value FROM attachment_objects WHERE sha256 = '{sha}'"
        ));
        assert_eq!(objects, "1", "round {round}");
    }
    assert_eq!(stored_objects(&app).len(), 6);

    for round in 0..10 {
        let content = pdf(&format!("purged {round}"), 2000);
        let old = id_of(&attach_ok(&app, &caseworker.token, &file, content.clone()).await);
        let res = app
            .delete(
                &format!("/api/v1/attachments/{old}"),
                &caseworker.token,
                "*",
            )
            .await;
        assert_eq!(res.status(), 200);
        let body = json!({"reason": "Removed at the family's request."});
        let purge_url = format!("/api/v1/attachments/{old}/purge");
        let (purged, uploaded) = tokio::join!(
            app.post(&purge_url, &admin, &body),
            attach(
                &app,
                &caseworker.token,
                &file,
                "application/pdf",
                "again.pdf",
                content.clone()
            ),
        );
        assert_eq!(purged.status(), 204, "round {round}");
        assert_eq!(uploaded.status(), 201, "round {round}");
        let new: Value = uploaded.json().await.unwrap();
        let res = download(&app, &caseworker.token, &id_of(&new), None).await;
        assert_eq!(
            res.status(),
            200,
            "round {round}: the new upload lost its content"
        );
        assert_eq!(res.bytes().await.unwrap().as_ref(), content.as_slice());
    }
    // Every object recorded is in the store, and nothing else.
    let output = sijill(&app.db)
        .args(["attachments", "verify"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("0 changed or missing, 0 unrecorded"),
        "{stdout}"
    );
}

async fn nothing_secret_is_stored_in_clear_and_the_key_is_required(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let informant = "Informant Abu-Khalil-93317, met in Gaziantep";
    let file = new_file(
        &app,
        &caseworker.token,
        &json!({"full_name": "Rami Nabil Saleh", "source_notes": informant}),
    )
    .await;
    let file = id_of(&file);
    attach_ok(
        &app,
        &caseworker.token,
        &file,
        pdf("VOICE-OF-THE-WITNESS-5521", 150_000),
    )
    .await;
    // Read back as written, for those who may read it.
    assert_eq!(
        file_of(&app, &caseworker.token, &file).await["source_notes"],
        informant
    );
    // Edited: sealed again.
    let res = app
        .patch(
            &format!("/api/v1/detainees/{file}"),
            &caseworker.token,
            "*",
            &json!({"source_notes": format!("{informant} (second meeting)")}),
        )
        .await;
    assert_eq!(res.status(), 200);

    // The database as a thief would read it: the column, and on SQLite the
    // very files (with the write-ahead log).
    let stored = app.db.query_text(&format!(
        "SELECT source_notes AS value FROM detainees WHERE id = '{file}'"
    ));
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!stored.contains("Abu-Khalil"));
    if engine == Engine::Sqlite {
        let path = app.db.url.trim_start_matches("sqlite://").to_owned();
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                assert!(
                    !contains(&bytes, b"Abu-Khalil-93317"),
                    "in clear in {path}{suffix}"
                );
            }
        }
    }
    for (name, bytes) in stored_objects(&app) {
        assert!(
            !contains(&bytes, b"VOICE-OF-THE-WITNESS-5521"),
            "in clear in {name}"
        );
    }
    // Source notes moved into another file's row do not open there.
    let other = id_of(
        &new_file(
            &app,
            &caseworker.token,
            &json!({"full_name": "Other Person", "source_notes": "x"}),
        )
        .await,
    );
    app.db
        .execute(&format!(
            "UPDATE detainees SET source_notes = (SELECT source_notes FROM detainees WHERE id = '{file}') WHERE id = '{other}'"
        ))
        .unwrap();
    let res = app
        .get(&format!("/api/v1/detainees/{other}"), &caseworker.token)
        .await;
    assert_eq!(res.status(), 500, "a moved ciphertext must not open");

    // Without its key, the database does not serve: a new key is refused
    // by name, and so is the copy started with none (one is generated, and
    // is not the database's).
    let settings = app.settings.clone();
    let db = app.stop().await;
    // A database from before encryption: its clear notes are sealed at
    // the next start, and do not linger in the file.
    let wait = if engine == Engine::Sqlite {
        "PRAGMA busy_timeout = 5000;"
    } else {
        ""
    };
    db.execute(&format!(
        "{wait} UPDATE detainees SET source_notes = 'Clear-Informant-55120' WHERE id = '{other}'"
    ))
    .unwrap();
    let mut wrong = settings.clone();
    wrong.data_key_file = db.dir.join("another-data-key");
    let refused = tokio::task::spawn_blocking(move || sijill::startup::Application::build(wrong))
        .await
        .unwrap();
    let message = refused
        .err()
        .expect("a wrong key must be refused")
        .to_string();
    assert!(
        message.contains("not the key this database's encrypted data"),
        "{message}"
    );
    assert!(message.contains("SIJILL_DATA_KEY_FILE"), "{message}");
    // With its key, it serves again.
    let app = spawn_on(db, settings).await;
    let token = app
        .login_ok(&caseworker.username, &caseworker.password)
        .await
        .0;
    assert_eq!(
        file_of(&app, &token, &file).await["source_notes"],
        format!("{informant} (second meeting)")
    );
    assert_eq!(
        file_of(&app, &token, &other).await["source_notes"],
        "Clear-Informant-55120"
    );
    let stored = app.db.query_text(&format!(
        "SELECT source_notes AS value FROM detainees WHERE id = '{other}'"
    ));
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    if engine == Engine::Sqlite {
        let path = app.db.url.trim_start_matches("sqlite://").to_owned();
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                assert!(
                    !contains(&bytes, b"Clear-Informant-55120"),
                    "left in clear in {path}{suffix}"
                );
            }
        }
    }
}

async fn verify_names_the_changed_and_the_missing_objects(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let file = a_file(&app, &caseworker.token).await;
    for marker in ["one", "two", "three"] {
        attach_ok(&app, &caseworker.token, &file, pdf(marker, 100_000)).await;
    }
    let verify = || {
        let output = sijill(&app.db)
            .args(["attachments", "verify"])
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (ok, out) = verify();
    assert!(ok, "{out}");
    assert!(out.contains("checked 3 objects (300000 bytes)"), "{out}");
    // One byte changed in one object, another removed, a stray one added.
    let dir = app.settings.data_dir.join("attachments/objects");
    let mut objects = stored_objects(&app);
    objects.sort();
    let (changed, mut bytes) = objects[0].clone();
    bytes[70_000] ^= 0x01;
    std::fs::write(dir.join(&changed), bytes).unwrap();
    let missing = objects[1].0.clone();
    std::fs::remove_file(dir.join(&missing)).unwrap();
    // Left by a crash an hour ago; one written just now may be an upload
    // under way, and is not judged.
    std::fs::write(dir.join("stray"), b"left by a crash").unwrap();
    std::fs::File::options()
        .write(true)
        .open(dir.join("stray"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    std::fs::write(dir.join("in-flight"), b"an upload under way").unwrap();
    let (ok, out) = verify();
    assert!(!ok, "{out}");
    let line_of = |name: &str| {
        out.lines()
            .find(|l| l.contains(name))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line_of(&changed).contains("changed"), "{out}");
    assert!(line_of(&missing).contains("missing"), "{out}");
    assert!(line_of("stray").contains("no record names it"), "{out}");
    assert!(out.contains("2 changed or missing, 1 unrecorded"), "{out}");
    assert!(
        !line_of("in-flight").contains("no record names it"),
        "{out}"
    );
    assert!(out.contains("1 objects no record names yet"), "{out}");
    // A download of the changed one never sends altered bytes as evidence.
    let id: String = app.db.query_text(&format!(
        "SELECT a.id AS value FROM attachments a JOIN attachment_objects o ON a.object_id = o.id WHERE o.stored_as = '{changed}'"
    ));
    // (The connection is cut: before the head is out, or after.)
    let res = app
        .client
        .get(app.url(&format!("/api/v1/attachments/{id}/content")))
        .bearer_auth(&caseworker.token)
        .send()
        .await;
    if let Ok(res) = res {
        let read = res.bytes().await;
        assert!(
            read.is_err() || read.unwrap().len() < 100_000,
            "altered content served whole"
        );
    }

    // The lost content uploaded again restores it, rather than being
    // dropped as a duplicate of an object that is gone.
    let lost_sha = app.db.query_text(&format!(
        "SELECT sha256 AS value FROM attachment_objects WHERE stored_as = '{missing}'"
    ));
    let lost = ["one", "two", "three"]
        .map(|marker| pdf(marker, 100_000))
        .into_iter()
        .find(|content| sha256_hex(content) == lost_sha)
        .unwrap();
    let again = attach_ok(&app, &caseworker.token, &file, lost.clone()).await;
    let res = download(&app, &caseworker.token, &id_of(&again), None).await;
    assert_eq!(res.bytes().await.unwrap().as_ref(), lost.as_slice());
    let (_, out) = verify();
    assert!(
        out.contains("1 changed or missing"),
        "only the altered one now: {out}"
    );
}

async fn a_key_rotation_reencrypts_everything_and_is_audited(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;
    let mut files = Vec::new();
    for n in 0..3 {
        let body =
            json!({"full_name": format!("Person {n}"), "source_notes": format!("Source {n}")});
        files.push(id_of(&new_file(&app, &caseworker.token, &body).await));
    }
    let content = pdf("rotated", 200_000);
    let attachment = id_of(&attach_ok(&app, &caseworker.token, &files[0], content.clone()).await);
    let before = app.db.query_text(&format!(
        "SELECT source_notes AS value FROM detainees WHERE id = '{}'",
        files[0]
    ));
    let settings = app.settings.clone();
    let db = app.stop().await;

    // What cannot be read stops a rotation before it begins: nothing is
    // changed, and the database serves on.
    let objects_dir = settings.data_dir.join("attachments/objects");
    let (name, bytes) = {
        let entry = std::fs::read_dir(&objects_dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        (entry.path(), std::fs::read(entry.path()).unwrap())
    };
    std::fs::remove_file(&name).unwrap();
    let refused = sijill(&db).args(["keys", "rotate"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success());
    assert!(stderr.contains("nothing was rotated"), "{stderr}");
    assert!(
        stderr.contains("missing or changed in the store"),
        "{stderr}"
    );
    let serves = sijill(&db).args(["audit", "verify"]).output().unwrap();
    assert!(serves.status.success(), "{:?}", serves);

    // Interrupted half-way (an object that fails as it is read: the store
    // went away, say): the notes are under the new key, the object not,
    // and nothing starts on the database until the rotation ends.
    let mut altered = bytes.clone();
    altered[100_000] ^= 1;
    std::fs::write(&name, altered).unwrap();
    let interrupted = sijill(&db).args(["keys", "rotate"]).output().unwrap();
    assert!(!interrupted.status.success());
    let refused = sijill(&db).args(["audit", "verify"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success());
    assert!(stderr.contains("rotation is unfinished"), "{stderr}");
    std::fs::write(&name, bytes).unwrap();

    let output = sijill(&db).args(["keys", "rotate"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        // The notes were done before the interruption; the object now.
        stdout.contains("0 source notes and 1 attachment objects re-encrypted"),
        "{stdout}"
    );
    let retired: Vec<_> = std::fs::read_dir(&settings.data_dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("data-key.retired-")
        })
        .collect();
    assert_eq!(retired.len(), 1);
    // Twice is harmless: the new key is rotated in turn.
    let again = sijill(&db).args(["keys", "rotate"]).output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let app = spawn_on(db, settings).await;
    let after = app.db.query_text(&format!(
        "SELECT source_notes AS value FROM detainees WHERE id = '{}'",
        files[0]
    ));
    assert_ne!(
        before.split(':').nth(2),
        after.split(':').nth(2),
        "the key id changed"
    );
    let token = app
        .login_ok(&caseworker.username, &caseworker.password)
        .await
        .0;
    for (n, file) in files.iter().enumerate() {
        assert_eq!(
            file_of(&app, &token, file).await["source_notes"],
            format!("Source {n}")
        );
    }
    let res = download(&app, &token, &attachment, Some("bytes=100000-100009")).await;
    assert_eq!(
        res.bytes().await.unwrap().as_ref(),
        &content[100_000..100_010]
    );
    assert_eq!(stored_objects(&app).len(), 1, "the old objects are removed");
    let auditor_token = app.login_ok(&auditor.username, &auditor.password).await.0;
    let rotations: Vec<Value> = app
        .audit_entries(&auditor_token)
        .await
        .into_iter()
        .filter(|e| e["action"] == "keys.rotate")
        .collect();
    assert_eq!(rotations.len(), 2);
    assert_eq!(rotations[0]["changes"]["objects_reencrypted"][1], 1);
    assert_eq!(rotations[1]["changes"]["source_notes_resealed"][1], 3);
    assert!(app.verify_report(&auditor_token).await["ok"]
        .as_bool()
        .unwrap());
}

async fn attachments_live_in_an_s3_compatible_store(engine: Engine) {
    let bucket = std::env::var("SIJILL_TEST_S3_BUCKET").unwrap();
    let prefix = format!("test-{}", uuid::Uuid::now_v7().simple());
    let app = spawn_app_with(engine, |s| {
        s.attachment_store = Some(format!("s3://{bucket}/{prefix}"));
    })
    .await;
    let caseworker = app.user_with_role("caseworker").await;
    let file = a_file(&app, &caseworker.token).await;
    // Larger than one part of a multipart upload.
    let content = pdf("IN-THE-BUCKET-4410", 6 * 1024 * 1024 + 123);
    let id = id_of(&attach_ok(&app, &caseworker.token, &file, content.clone()).await);
    assert!(stored_objects(&app).is_empty(), "nothing on the local disk");
    let res = download(&app, &caseworker.token, &id, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), content.as_slice());
    let res = download(&app, &caseworker.token, &id, Some("bytes=5242870-5242889")).await;
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.bytes().await.unwrap().as_ref(),
        &content[5_242_870..5_242_890]
    );
    // A refused upload leaves nothing in the bucket either.
    let res = attach(
        &app,
        &caseworker.token,
        &file,
        "image/png",
        "x.png",
        pdf("x", 9000),
    )
    .await;
    assert_problem(res, 422, "content_type_mismatch").await;
    let output = sijill(&app.db)
        .env("SIJILL_ATTACHMENT_STORE", format!("s3://{bucket}/{prefix}"))
        .args(["attachments", "verify"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("checked 1 objects"), "{stdout}");
    assert!(
        stdout.contains("0 changed or missing, 0 unrecorded"),
        "{stdout}"
    );
}
