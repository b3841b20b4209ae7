//! Writes to one file racing each other: every path that reads a file and
//! then writes it (PATCH, review steps, custody, merge, archive, restore)
//! locks it first and counts its version in SQL. Each race runs many rounds
//! on both engines (on SQLite the write lock serialises them anyway; on
//! PostgreSQL they really interleave) and checks an invariant every round.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

const ROUNDS: usize = 12;

/// The file's version changes as the audit log records them, oldest first:
/// `version: [old, new]` on the file's own entries, `detainee_version` on
/// the entries of its custody records and reviews.
fn version_chain(entries: &[Value], file: &str) -> Vec<(i64, i64)> {
    entries
        .iter()
        .filter_map(|e| {
            let changes = &e["changes"];
            let pair = if e["entity_id"] == file {
                &changes["version"]
            } else if changes["detainee_id"][1] == file {
                &changes["detainee_version"]
            } else {
                return None;
            };
            Some((pair[0].as_i64()?, pair[1].as_i64()?))
        })
        .collect()
}

/// One version, one state: the chain of versions starts at 1, each write
/// adds exactly one, and no two writes started from the same version.
fn assert_linear(chain: &[(i64, i64)], final_version: i64, what: &str) {
    let mut expected = 1;
    for (old, new) in chain {
        assert_eq!(
            (*old, *new),
            (expected, expected + 1),
            "{what}: the versions the audit log records are not one chain: {chain:?}"
        );
        expected = *new;
    }
    assert_eq!(expected, final_version, "{what}: {chain:?}");
}

/// One request owning its path and body (so that many can be joined), with
/// `If-Match: *`: these races are about locks, not about stale reads.
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: String,
    token: &str,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .client
        .request(method, app.url(&path))
        .bearer_auth(token)
        .header("If-Match", "*");
    if !body.is_null() {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn status_and_body(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A decision racing an edit that accuses the person of major crimes: the
/// decision judges the file as it is when it commits, so a major-crimes file
/// is never left cleared by one reviewer with no family heard.
async fn a_decision_racing_an_accusation_edit_keeps_the_major_crimes_rules(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let mut outcomes = Vec::new();
    for round in 0..ROUNDS {
        let file = new_file(&app, &c.owner.token, &file_body(false)).await;
        let id = id_of(&file);
        let rid = id_of(&open(&app, &c.owner.token, &id).await);
        step_ok(&app, &c.reviewer.token, &rid, "claim", json!({})).await;
        let path = format!("/api/v1/detainees/{id}");
        let accuse = json!({
            "major_crimes_accusation": true,
            "category": "criminal_accusation",
            "accusation_summary": "Named by three survivors of the checkpoint killings."
        });
        let (decision, edit) = tokio::join!(
            step(
                &app,
                &c.reviewer.token,
                &rid,
                "decision",
                json!({"decision": "cleared_for_release", "rationale": RATIONALE}),
            ),
            app.patch(&path, &c.owner.token, "*", &accuse),
        );
        let (decided, edited) = (decision.status().as_u16(), edit.status().as_u16());
        assert_eq!(edited, 200, "round {round}");
        assert!(matches!(decided, 200 | 409), "round {round}: {decided}");
        let now = file_of(&app, &c.owner.token, &id).await;
        assert_eq!(now["major_crimes_accusation"], true);
        assert_ne!(
            now["review_status"], "cleared_for_release",
            "round {round}: a file accused of major crimes was cleared without a \
             family consultation or a second organisation"
        );
        assert_release_refused(&app, &c.owner.token, &id).await;
        outcomes.push(decided);
    }
    eprintln!("decision statuses over {ROUNDS} rounds: {outcomes:?}");
}

/// Edits, custody records and review steps on one file at once: every one
/// that succeeds adds exactly one version, no two answer with the same
/// version, and the audit log's version changes form one chain.
async fn every_write_to_a_file_counts_exactly_one_version(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let facility = new_facility(&app, &c.owner.token).await;
    for round in 0..ROUNDS {
        let file = new_file(&app, &c.owner.token, &file_body(false)).await;
        let id = id_of(&file);
        let rid = id_of(&open(&app, &c.owner.token, &id).await);
        let before = file_of(&app, &c.owner.token, &id).await["version"]
            .as_i64()
            .unwrap();
        let path = format!("/api/v1/detainees/{id}");
        let token = c.owner.token.as_str();
        let edit = |n: usize| {
            let body = json!({"notes": format!("Edit {round}.{n}")});
            call(&app, reqwest::Method::PATCH, path.clone(), token, body)
        };
        let custody = || {
            let body = json!({"facility_id": facility, "from": "2013"});
            call(
                &app,
                reqwest::Method::POST,
                format!("{path}/custody"),
                token,
                body,
            )
        };
        let (e1, e2, e3, k1, k2, claim) = tokio::join!(
            edit(1),
            edit(2),
            edit(3),
            custody(),
            custody(),
            step(&app, &c.reviewer.token, &rid, "claim", json!({})),
        );
        let mut successes = 0;
        let mut versions = HashSet::new();
        for (status, body) in [
            status_and_body(e1).await,
            status_and_body(e2).await,
            status_and_body(e3).await,
        ] {
            assert_eq!(status, 200, "round {round}: {body}");
            successes += 1;
            assert!(
                versions.insert(body["version"].as_i64().unwrap()),
                "round {round}: two edits answered with version {}",
                body["version"]
            );
        }
        for (status, body) in [status_and_body(k1).await, status_and_body(k2).await] {
            assert_eq!(status, 201, "round {round}: {body}");
            successes += 1;
        }
        let (status, body) = status_and_body(claim).await;
        assert_eq!(status, 200, "round {round}: {body}");
        successes += 1;
        assert!(
            versions.insert(body["file"]["version"].as_i64().unwrap()),
            "round {round}: the claim answered with a version an edit had too"
        );

        let after = file_of(&app, &c.owner.token, &id).await["version"]
            .as_i64()
            .unwrap();
        assert_eq!(after, before + successes, "round {round}");
        let entries = app.audit_entries(&c.auditor.token).await;
        assert_linear(
            &version_chain(&entries, &id),
            after,
            &format!("round {round}"),
        );
    }
}

/// Merge, archive and restore racing edits and custody records: whichever
/// wins, each file's versions stay one chain, and nothing is written to a
/// file after it was archived.
async fn merges_archives_and_restores_racing_edits_keep_one_version_chain(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let facility = new_facility(&app, &c.owner.token).await;
    let body = |name: &str| json!({"full_name": name, "category": "political"});
    for round in 0..ROUNDS {
        let survivor = id_of(&new_file(&app, &c.owner.token, &body("Yusuf Adel Haddad")).await);
        let duplicate = id_of(&new_file(&app, &c.owner.token, &body("Yousef Adel Hadad")).await);
        let other = id_of(&new_file(&app, &c.owner.token, &body("Rami Samer Nasser")).await);
        let token = c.owner.token.as_str();
        let file = |id: &str, rest: &str| format!("/api/v1/detainees/{id}{rest}");
        let edit = |id: &str| {
            let body = json!({"notes": "Edited in a race"});
            call(&app, reqwest::Method::PATCH, file(id, ""), token, body)
        };
        let custody = |id: &str| {
            let body = json!({"facility_id": facility});
            call(
                &app,
                reqwest::Method::POST,
                file(id, "/custody"),
                token,
                body,
            )
        };
        let (merged, ..) = tokio::join!(
            call(
                &app,
                reqwest::Method::POST,
                file(&survivor, "/merge"),
                token,
                json!({"duplicate_id": duplicate}),
            ),
            edit(&survivor),
            edit(&duplicate),
            custody(&duplicate),
            call(
                &app,
                reqwest::Method::DELETE,
                file(&other, ""),
                token,
                Value::Null
            ),
            call(
                &app,
                reqwest::Method::POST,
                file(&other, "/restore"),
                token,
                Value::Null
            ),
            edit(&other),
            custody(&other),
        );
        assert_eq!(merged.status(), 200, "round {round}");

        let entries = app.audit_entries(&c.auditor.token).await;
        for id in [&survivor, &duplicate, &other] {
            let now = file_of(&app, &c.owner.token, id).await;
            let chain = version_chain(&entries, id);
            assert_linear(
                &chain,
                now["version"].as_i64().unwrap(),
                &format!("round {round}"),
            );
        }
        // The duplicate is archived by the merge and nothing was written to
        // it afterwards: the merge is the last entry of its chain.
        let last = entries
            .iter()
            .rev()
            .find(|e| {
                e["entity_id"] == duplicate.as_str()
                    || e["changes"]["detainee_id"][1] == duplicate.as_str()
            })
            .unwrap();
        assert_eq!(last["action"], "detainee.merge", "round {round}");
    }
}

/// A withdrawal racing an edit of the accusation on a cleared file under a
/// new review: whichever commits first, the old clearance does not survive
/// the change of accusation.
async fn a_withdrawal_racing_an_accusation_edit_restores_no_stale_clearance(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = c.owner.token.as_str();
    for round in 0..ROUNDS {
        let id = cleared_file(&app, &c).await;
        let rid = id_of(&open(&app, token, &id).await);
        let path = format!("/api/v1/detainees/{id}");
        let (withdrawn, edited) = tokio::join!(
            step(&app, token, &rid, "withdraw", json!({})),
            call(
                &app,
                reqwest::Method::PATCH,
                path.clone(),
                token,
                json!({"major_crimes_accusation": true}),
            ),
        );
        assert_eq!(withdrawn.status(), 200, "round {round}");
        assert_eq!(edited.status(), 200, "round {round}");
        let now = file_of(&app, token, &id).await;
        assert_eq!(now["major_crimes_accusation"], true);
        assert_eq!(now["review_status"], "not_reviewed", "round {round}");
    }
}

/// Undoing a merge racing edits and custody records of the survivor, and a
/// merge racing a review opened on its duplicate: each file's versions stay
/// one chain, an unmerge never undoes a later edit, and no archived file is
/// left under an undecided review.
async fn unmerges_and_merges_racing_edits_and_reviews_keep_their_rules(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = cast(&app).await;
    let token = c.owner.token.as_str();
    let facility = new_facility(&app, token).await;
    let body = |name: &str| json!({"full_name": name, "category": "political"});
    let file = |id: &str, rest: &str| format!("/api/v1/detainees/{id}{rest}");
    for round in 0..ROUNDS {
        let survivor = id_of(&new_file(&app, token, &body("Nour Adel Haddad")).await);
        let duplicate = id_of(&new_file(&app, token, &body("Noor Adel Hadad")).await);
        let merge = json!({"duplicate_id": duplicate});
        let merged = call(
            &app,
            reqwest::Method::POST,
            file(&survivor, "/merge"),
            token,
            merge.clone(),
        )
        .await;
        assert_eq!(merged.status(), 200, "round {round}");
        let (unmerged, edited, recorded) = tokio::join!(
            call(
                &app,
                reqwest::Method::POST,
                file(&survivor, "/unmerge"),
                token,
                merge.clone()
            ),
            call(
                &app,
                reqwest::Method::PATCH,
                file(&survivor, ""),
                token,
                json!({"notes": "Edited while someone undid the merge"}),
            ),
            call(
                &app,
                reqwest::Method::POST,
                file(&survivor, "/custody"),
                token,
                json!({"facility_id": facility}),
            ),
        );
        let unmerged = unmerged.status().as_u16();
        assert!(matches!(unmerged, 200 | 409), "round {round}: {unmerged}");
        assert_eq!(edited.status(), 200, "round {round}");
        assert_eq!(recorded.status(), 201, "round {round}");
        let now = file_of(&app, token, &survivor).await;
        assert_eq!(
            now["notes"], "Edited while someone undid the merge",
            "round {round}: an unmerge undid a later edit"
        );
        let entries = app.audit_entries(&c.auditor.token).await;
        for id in [&survivor, &duplicate] {
            let version = file_of(&app, token, id).await["version"].as_i64().unwrap();
            assert_linear(
                &version_chain(&entries, id),
                version,
                &format!("round {round}"),
            );
        }

        // A merge racing a review of its duplicate: one of them waits for
        // the other and refuses.
        let other = id_of(&new_file(&app, token, &body("Nour Adel Al-Haddad")).await);
        let (merged, opened) = tokio::join!(
            call(
                &app,
                reqwest::Method::POST,
                file(&survivor, "/merge"),
                token,
                json!({"duplicate_id": other}),
            ),
            call(
                &app,
                reqwest::Method::POST,
                file(&other, "/reviews"),
                token,
                json!({})
            ),
        );
        let statuses = (merged.status().as_u16(), opened.status().as_u16());
        assert!(
            matches!(statuses, (200, 409) | (409, 201)),
            "round {round}: {statuses:?}"
        );
        let archived = !file_of(&app, token, &other).await["archived_at"].is_null();
        let reviews: Value = app
            .get(&file(&other, "/reviews"), token)
            .await
            .json()
            .await
            .unwrap();
        let undecided = reviews["items"].as_array().unwrap().iter().any(|r| {
            matches!(
                r["status"].as_str(),
                Some("open" | "in_review" | "awaiting_confirmation")
            )
        });
        assert!(
            !(archived && undecided),
            "round {round}: an archived file under review"
        );
    }
}

scenarios! {
    both: [
        a_decision_racing_an_accusation_edit_keeps_the_major_crimes_rules,
        every_write_to_a_file_counts_exactly_one_version,
        merges_archives_and_restores_racing_edits_keep_one_version_chain,
        a_withdrawal_racing_an_accusation_edit_restores_no_stale_clearance,
        unmerges_and_merges_racing_edits_and_reviews_keep_their_rules,
    ],
}
