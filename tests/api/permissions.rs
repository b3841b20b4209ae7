//! The permission matrix as a table: role × action → status.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::scenarios;

const ROLES: [&str; 5] = [
    "admin",
    "caseworker",
    "reviewer",
    "family_representative",
    "auditor",
];

struct Case {
    method: Method,
    path: &'static str,
    /// The status each role gets, in the order of `ROLES`.
    expected: [u16; 5],
}

fn table() -> Vec<Case> {
    use Method as M;
    vec![
        //                                          admin cw   rev  fam  aud
        Case {
            method: M::GET,
            path: "/api/v1/auth/me",
            expected: [200, 200, 200, 200, 200],
        },
        Case {
            method: M::POST,
            path: "/api/v1/organizations",
            expected: [201, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            path: "/api/v1/organizations",
            expected: [200, 403, 403, 403, 200],
        },
        Case {
            method: M::GET,
            path: "/api/v1/organizations/{org}",
            expected: [200, 403, 403, 403, 200],
        },
        Case {
            method: M::POST,
            path: "/api/v1/users",
            expected: [201, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            path: "/api/v1/users",
            expected: [200, 403, 403, 403, 200],
        },
        Case {
            method: M::GET,
            path: "/api/v1/users/{user}",
            expected: [200, 403, 403, 403, 200],
        },
        Case {
            method: M::PATCH,
            path: "/api/v1/users/{user}",
            expected: [200, 403, 403, 403, 403],
        },
        Case {
            method: M::POST,
            path: "/api/v1/users/{user}/password",
            expected: [204, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            path: "/api/v1/audit",
            expected: [403, 403, 403, 403, 200],
        },
        Case {
            method: M::GET,
            path: "/api/v1/audit/verify",
            expected: [403, 403, 403, 403, 200],
        },
        Case {
            method: M::GET,
            path: "/api/v1/audit/head",
            expected: [403, 403, 403, 403, 200],
        },
    ]
}

/// A body that would succeed, so a refusal can only be the permission check.
fn body_for(method: &Method, path: &str, org: &str) -> Option<Value> {
    match (method.as_str(), path) {
        ("POST", "/api/v1/organizations") => Some(json!({
            "name": format!("Org {}", uuid::Uuid::now_v7().simple()), "kind": "documentation"})),
        ("POST", "/api/v1/users") => Some(json!({
            "username": format!("u{}", uuid::Uuid::now_v7().simple()),
            "password": strong_password(),
            "display_name": "Matrix",
            "role": "caseworker",
            "organization_id": org,
        })),
        ("PATCH", _) => {
            Some(json!({"display_name": format!("Renamed {}", uuid::Uuid::now_v7().simple())}))
        }
        ("POST", p) if p.ends_with("/password") => Some(json!({"password": strong_password()})),
        _ => None,
    }
}

async fn the_permission_matrix_holds(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let org = app.create_organization(&admin, "documentation").await;
    let mut users = Vec::new();
    for role in ROLES {
        users.push(app.user_with_role(role).await);
    }
    let mut failures = Vec::new();
    for case in table() {
        // A fresh target account per action (admin goes first, with version 1).
        let target = app.user_in(&admin, &org, "caseworker").await;
        for (role, expected) in ROLES.iter().zip(case.expected) {
            let path = case
                .path
                .replace("{org}", &org)
                .replace("{user}", &target.id);
            let body = body_for(&case.method, case.path, &org);
            let caller = &users[ROLES.iter().position(|r| r == role).unwrap()];
            let mut req = app
                .client
                .request(case.method.clone(), app.url(&path))
                .bearer_auth(&caller.token);
            if case.method == Method::PATCH {
                req = req.header("If-Match", "\"1\"");
            }
            if let Some(body) = &body {
                req = req.json(body);
            }
            let status = req.send().await.unwrap().status().as_u16();
            if status != expected {
                failures.push(format!(
                    "{role} {} {}: {status}, expected {expected}",
                    case.method, case.path
                ));
            }
            // Anonymous callers are always 401.
            let mut anon = app.client.request(case.method.clone(), app.url(&path));
            if let Some(body) = &body {
                anon = anon.json(body);
            }
            let status = anon.send().await.unwrap().status().as_u16();
            if status != 401 {
                failures.push(format!("anonymous {} {}: {status}", case.method, case.path));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

scenarios! {
    both: [
        the_permission_matrix_holds,
    ],
}
