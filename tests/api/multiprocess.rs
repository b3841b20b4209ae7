//! Two `sijill serve` processes writing to one PostgreSQL database at once
//! keep one linear, valid audit chain.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

async fn two_processes_keep_one_linear_chain(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let target = app.user_with_role("caseworker").await;
    let auditor = app.user_with_role("auditor").await;

    let db = app.db.shared();
    let servers = [ServerProcess::start(&db), ServerProcess::start(&db)];
    let client = reqwest::Client::new();

    // 2 servers × 4 writers × 15 audited writes, interleaved.
    let mut tasks = Vec::new();
    for (s, server) in servers.iter().enumerate() {
        for w in 0..4 {
            let (client, base, admin) = (client.clone(), server.address.clone(), admin.clone());
            tasks.push(tokio::spawn(async move {
                let mut created = 0;
                for i in 0..15 {
                    let res = client
                        .post(format!("{base}/api/v1/organizations"))
                        .bearer_auth(&admin)
                        .json(&json!({"name": format!("Org s{s} w{w} i{i}"), "kind": "documentation"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 201);
                    created += 1;
                }
                created
            }));
        }
    }
    // Meanwhile, failed logins (audited, and counted under the chain lock) on both.
    for server in &servers {
        let res = client
            .post(format!("{}/api/v1/auth/login", server.address))
            .json(&json!({"username": target.username, "password": "wrong wrong wrong 1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, 120);

    let entries = app.audit_entries(&auditor.token).await;
    recompute_chain(&entries).unwrap();
    let creates = entries
        .iter()
        .filter(|e| {
            e["action"] == "organization.create"
                && e["changes"]["name"][1]
                    .as_str()
                    .unwrap()
                    .starts_with("Org s")
        })
        .count();
    assert_eq!(creates, 120);
    let report: Value = app.verify_report(&auditor.token).await;
    assert_eq!(report["ok"], true);
    assert_eq!(report["checked"], report["head_seq"]);
}

/// Two reviewers claiming the same review through two server processes at
/// once: exactly one wins, every time.
async fn concurrent_claims_across_processes_have_one_winner(engine: Engine) {
    let app = spawn_app(engine).await;
    let caseworker = app.user_with_role("caseworker").await;
    let first = app.user_with_role("reviewer").await;
    let second = app.user_with_role("reviewer").await;
    let db = app.db.shared();
    let servers = [ServerProcess::start(&db), ServerProcess::start(&db)];
    let client = reqwest::Client::new();
    for round in 0..20 {
        let file: Value = app
            .post(
                "/api/v1/detainees",
                &caseworker.token,
                &json!({"full_name": format!("Race {round}")}),
            )
            .await
            .json()
            .await
            .unwrap();
        let review: Value = app
            .post(
                &format!("/api/v1/detainees/{}/reviews", file["id"].as_str().unwrap()),
                &caseworker.token,
                &json!({}),
            )
            .await
            .json()
            .await
            .unwrap();
        let id = review["id"].as_str().unwrap();
        let claim = |base: &str, token: &str| {
            client
                .post(format!("{base}/api/v1/reviews/{id}/claim"))
                .bearer_auth(token)
                .json(&json!({}))
                .send()
        };
        let (a, b) = tokio::join!(
            claim(&servers[0].address, &first.token),
            claim(&servers[1].address, &second.token)
        );
        let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}");
    }
    let auditor = app.user_with_role("auditor").await;
    recompute_chain(&app.audit_entries(&auditor.token).await).unwrap();
}

/// Wrong passwords for one username sent at once to two server processes:
/// the limit is counted in the database, so no more than five passwords are
/// checked in all.
async fn guesses_spread_over_two_processes_share_one_limit(engine: Engine) {
    let app = spawn_app(engine).await;
    let auditor = app.user_with_role("auditor").await;
    let db = app.db.shared();
    let servers = [ServerProcess::start(&db), ServerProcess::start(&db)];
    let client = reqwest::Client::new();
    let guesses = (0..24).map(|i| {
        let (client, base) = (client.clone(), servers[i % 2].address.clone());
        async move {
            client
                .post(format!("{base}/api/v1/auth/login"))
                .json(
                    &json!({"username": "admin", "password": format!("wrong guess {i} entirely")}),
                )
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(checked, 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 19);
    let entries = app.audit_entries(&auditor.token).await;
    let failed = entries
        .iter()
        .filter(|e| e["action"] == "auth.login_failed" && e["actor_username"] == "admin")
        .count();
    assert_eq!(failed, 5);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["action"] == "auth.locked")
            .count(),
        1
    );
}

scenarios! {
    postgres: [
        two_processes_keep_one_linear_chain,
        concurrent_claims_across_processes_have_one_winner,
        guesses_spread_over_two_processes_share_one_limit,
    ],
}
