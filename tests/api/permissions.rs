//! The permission matrix as a table: role × action → status, through HTTP,
//! on every route the matrix governs.
//!
//! Each row names its action (`MATRIX` in `src/auth/permissions.rs`) and
//! its route as the table "Roles and permissions" of docs/api.md writes
//! them. `the_table_covers_every_action_and_route` holds the rows to the
//! matrix, to that document and to the routes the server serves
//! (`/openapi.json`): a new action, or a new route, without its row fails
//! there, and so does a row that refuses (403) other roles than the matrix
//! and the document do.
//!
//! Each row is run on an object of its own, set up so that the roles the
//! matrix allows succeed (their scope holds the object, its state allows
//! the step): a refusal can only be the permission check.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};
use sijill::auth::permissions::{allows, MATRIX};
use sijill::users::Role;

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
    /// The action of `MATRIX` the route's handler names (`Authorized<can::…>`).
    action: &'static str,
    method: Method,
    /// As docs/api.md writes it, below `/api/v1`.
    path: &'static str,
    /// The status each role gets, in the order of `ROLES`.
    expected: [u16; 5],
}

fn case(action: &'static str, method: Method, path: &'static str, expected: [u16; 5]) -> Case {
    Case {
        action,
        method,
        path,
        expected,
    }
}

#[rustfmt::skip]
fn table() -> Vec<Case> {
    const GET: Method = Method::GET;
    const POST: Method = Method::POST;
    const PATCH: Method = Method::PATCH;
    const DELETE: Method = Method::DELETE;
    vec![
        //                                                                     admin cw   rev  fam  aud
        case("UseOwnSession", GET, "/auth/me",                                 [200, 200, 200, 200, 200]),
        case("UseOwnSession", POST, "/auth/logout",                            [204, 204, 204, 204, 204]),
        // In this order: the start leaves each account an enrolment to
        // confirm (with a wrong code: 422); none is confirmed, so there is
        // nothing to disable (409).
        case("ManageOwnSecondFactor", GET, "/auth/mfa/totp",                   [200, 200, 200, 200, 200]),
        case("ManageOwnSecondFactor", POST, "/auth/mfa/totp",                  [200, 200, 200, 200, 200]),
        case("ManageOwnSecondFactor", POST, "/auth/mfa/totp/confirm",          [422, 422, 422, 422, 422]),
        case("ManageOwnSecondFactor", DELETE, "/auth/mfa/totp",                [409, 409, 409, 409, 409]),
        case("ManageOrganizations", POST, "/organizations",                    [201, 403, 403, 403, 403]),
        case("ReadOrganizations", GET, "/organizations",                       [200, 403, 403, 403, 200]),
        case("ReadOrganizations", GET, "/organizations/{id}",                  [200, 403, 403, 403, 200]),
        case("ManageUsers", POST, "/users",                                    [201, 403, 403, 403, 403]),
        case("ManageUsers", PATCH, "/users/{id}",                              [200, 403, 403, 403, 403]),
        case("ManageUsers", POST, "/users/{id}/password",                      [204, 403, 403, 403, 403]),
        case("ManageUsers", POST, "/users/{id}/mfa/reset",                     [204, 403, 403, 403, 403]),
        case("ReadUsers", GET, "/users",                                       [200, 403, 403, 403, 200]),
        case("ReadUsers", GET, "/users/{id}",                                  [200, 403, 403, 403, 200]),
        case("ReadAudit", GET, "/audit",                                       [403, 403, 403, 403, 200]),
        case("ReadAudit", GET, "/audit/access",                                [403, 403, 403, 403, 200]),
        case("ReadAudit", GET, "/audit/verify",                                [403, 403, 403, 403, 200]),
        case("ReadAudit", GET, "/audit/head",                                  [403, 403, 403, 403, 200]),
        case("ReadAudit", GET, "/audit/export",                                [403, 403, 403, 403, 200]),
        case("ReadFacilities", GET, "/facilities",                             [200, 200, 200, 200, 200]),
        case("ReadFacilities", GET, "/facilities/{id}",                        [200, 200, 200, 200, 200]),
        case("WriteFacilities", POST, "/facilities",                           [403, 201, 403, 403, 403]),
        case("WriteFacilities", PATCH, "/facilities/{id}",                     [403, 200, 403, 403, 403]),
        case("ReadDetainees", GET, "/detainees",                               [403, 200, 200, 403, 200]),
        case("ReadDetainees", GET, "/detainees/export",                        [403, 200, 200, 403, 200]),
        case("ReadDetainees", GET, "/detainees/{id}",                          [403, 200, 200, 403, 200]),
        case("ReadDetainees", GET, "/detainees/{id}/source-notes",             [403, 200, 200, 403, 200]),
        case("ReadDetainees", POST, "/detainees/search",                       [403, 200, 200, 403, 200]),
        case("ReadDetainees", GET, "/detainees/{id}/duplicates",               [403, 200, 200, 403, 200]),
        case("ReadDetainees", GET, "/detainees/{id}/custody",                  [403, 200, 200, 403, 200]),
        case("ReadDetainees", GET, "/detainees/{id}/history",                  [403, 200, 200, 403, 200]),
        case("WriteDetainees", POST, "/detainees",                             [403, 201, 403, 403, 403]),
        case("WriteDetainees", PATCH, "/detainees/{id}",                       [403, 200, 403, 403, 403]),
        case("WriteDetainees", DELETE, "/detainees/{id}",                      [403, 204, 403, 403, 403]),
        case("WriteDetainees", POST, "/detainees/{id}/restore",                [403, 200, 403, 403, 403]),
        case("WriteDetainees", POST, "/detainees/{id}/custody",                [403, 201, 403, 403, 403]),
        case("WriteDetainees", POST, "/detainees/{id}/merge",                  [403, 200, 403, 403, 403]),
        case("WriteDetainees", POST, "/detainees/{id}/unmerge",                [403, 200, 403, 403, 403]),
        case("ImportDetainees", POST, "/imports",                              [403, 202, 403, 403, 403]),
        case("ImportDetainees", POST, "/imports/{id}/cancel",                  [403, 202, 403, 403, 403]),
        case("ImportDetainees", POST, "/import-mappings",                      [403, 201, 403, 403, 403]),
        case("ImportDetainees", GET, "/import-mappings/{id}",                  [403, 200, 403, 403, 403]),
        case("ReadImports", GET, "/imports",                                   [403, 200, 403, 403, 200]),
        case("ReadImports", GET, "/imports/{id}",                              [403, 200, 403, 403, 200]),
        case("ReadImports", GET, "/imports/{id}/report",                       [403, 200, 403, 403, 200]),
        case("RequestReview", POST, "/detainees/{id}/reviews",                 [403, 201, 403, 403, 403]),
        case("RequestReview", POST, "/reviews/{id}/withdraw",                  [403, 200, 403, 403, 403]),
        case("ReadFileReviews", GET, "/detainees/{id}/reviews",                [403, 200, 403, 403, 200]),
        case("ReadReviews", GET, "/reviews",                                   [403, 200, 200, 200, 200]),
        case("ReadReviews", GET, "/reviews/{id}",                              [403, 200, 200, 200, 200]),
        case("ActOnReview", POST, "/reviews/{id}/claim",                       [403, 403, 200, 403, 403]),
        case("ActOnReview", POST, "/reviews/{id}/decision",                    [403, 403, 200, 403, 403]),
        case("ActOnReview", POST, "/reviews/{id}/confirm",                     [403, 403, 200, 403, 403]),
        case("ActOnReview", POST, "/reviews/{id}/dispute",                     [403, 403, 200, 403, 403]),
        case("Consult", POST, "/reviews/{id}/consultations",                   [403, 403, 403, 201, 403]),
        case("ReadAttachments", GET, "/detainees/{id}/attachments",            [403, 200, 200, 403, 200]),
        case("ReadAttachments", GET, "/attachments/{id}",                      [403, 200, 200, 403, 200]),
        case("ReadAttachments", GET, "/attachments/{id}/content",              [403, 200, 200, 403, 200]),
        case("WriteAttachments", POST, "/detainees/{id}/attachments",          [403, 201, 403, 403, 403]),
        case("WriteAttachments", DELETE, "/attachments/{id}",                  [403, 200, 403, 403, 403]),
        case("PurgeAttachments", POST, "/attachments/{id}/purge",              [204, 403, 403, 403, 403]),
    ]
}

// ---------------------------------------------------------------- coverage

/// A route as `(method, path)`, the path below `/api/v1`.
type Route = (String, String);

/// A row of the table "Roles and permissions" of docs/api.md.
struct Documented {
    roles: BTreeSet<String>,
    routes: BTreeSet<Route>,
}

/// The table "Roles and permissions" of docs/api.md, by action.
fn documented() -> BTreeMap<String, Documented> {
    let doc = include_str!("../../docs/api.md");
    let rows: Vec<Vec<&str>> = doc
        .lines()
        .skip_while(|l| !l.starts_with("| action | roles | routes |"))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    assert!(
        !rows.is_empty(),
        "docs/api.md has no table `| action | roles | routes |`"
    );
    let mut actions = BTreeMap::new();
    for row in rows {
        let action = row[0].trim_matches('`').to_owned();
        let roles: BTreeSet<String> = if row[1] == "every role" {
            ROLES.iter().map(|r| r.to_string()).collect()
        } else {
            row[1].split(',').map(|r| r.trim().to_owned()).collect()
        };
        // "`POST /reviews/{id}/claim`, `/decision`": a bare path stands for
        // the method and the parent of the route before it.
        let mut routes = BTreeSet::new();
        let mut last: Option<Route> = None;
        for item in row[2].split(", ") {
            let item = item.trim_matches('`');
            let route = match item.split_once(' ') {
                Some((method, path)) => (method.to_owned(), path.to_owned()),
                None => {
                    let (method, path) = last.clone().expect("a route before a bare path");
                    let parent = path.rsplit_once('/').expect("a parent").0;
                    (method, format!("{parent}{item}"))
                }
            };
            routes.insert(route.clone());
            last = Some(route);
        }
        actions.insert(action, Documented { roles, routes });
    }
    actions
}

/// The roles a row lets through (anything but 403).
fn let_through(case: &Case) -> BTreeSet<String> {
    ROLES
        .iter()
        .zip(case.expected)
        .filter(|(_, status)| *status != 403)
        .map(|(role, _)| role.to_string())
        .collect()
}

/// The rows are exactly the matrix's actions, the documented routes and the
/// served ones (but logging in and refreshing, which need no permission),
/// and each lets through exactly the roles the matrix and the document allow.
async fn the_table_covers_every_action_and_route(engine: Engine) {
    let table = table();
    let mut wrong = Vec::new();

    // Every action of the matrix has rows, and no row names another.
    let in_matrix: BTreeSet<String> = MATRIX.iter().map(|(a, _)| format!("{a:?}")).collect();
    let in_table: BTreeSet<String> = table.iter().map(|c| c.action.to_owned()).collect();
    for action in in_matrix.difference(&in_table) {
        wrong.push(format!("{action}: an action of the matrix with no row"));
    }
    for action in in_table.difference(&in_matrix) {
        wrong.push(format!("{action}: a row for an action the matrix lacks"));
    }

    // Each row refuses exactly the roles the matrix refuses.
    for case in &table {
        let Some((action, _)) = MATRIX.iter().find(|(a, _)| format!("{a:?}") == case.action) else {
            continue;
        };
        let allowed: BTreeSet<String> = Role::ALL
            .iter()
            .filter(|role| allows(**role, *action))
            .map(|role| role.as_str().to_owned())
            .collect();
        if let_through(case) != allowed {
            wrong.push(format!(
                "{} {}: lets through {:?}, the matrix allows {allowed:?}",
                case.method,
                case.path,
                let_through(case)
            ));
        }
    }

    // The document: the same actions, roles and routes.
    let documented = documented();
    let mut rows: BTreeMap<&str, BTreeSet<Route>> = BTreeMap::new();
    for case in &table {
        rows.entry(case.action)
            .or_default()
            .insert((case.method.to_string(), case.path.to_owned()));
    }
    for (action, Documented { roles, routes }) in &documented {
        let Some(tested) = rows.get(action.as_str()) else {
            wrong.push(format!("{action}: documented, with no row"));
            continue;
        };
        for (method, path) in routes.difference(tested) {
            wrong.push(format!("{action}: {method} {path} documented, with no row"));
        }
        for (method, path) in tested.difference(routes) {
            wrong.push(format!(
                "{action}: {method} {path} has a row, and is not documented under it"
            ));
        }
        for case in table.iter().filter(|c| c.action == action.as_str()) {
            if let_through(case) != *roles {
                wrong.push(format!(
                    "{} {}: lets through {:?}, docs/api.md says {roles:?}",
                    case.method,
                    case.path,
                    let_through(case)
                ));
            }
        }
    }
    for action in rows.keys() {
        if !documented.contains_key(*action) {
            wrong.push(format!("{action}: has rows, and is not in docs/api.md"));
        }
    }

    // The server: every operation under /api/v1 has a row.
    let app = spawn_app(engine).await;
    let document = app.openapi().await;
    let mut served = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(path) = path.strip_prefix("/api/v1") else {
            continue;
        };
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                served.insert((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    for public in ["/auth/login", "/auth/refresh", "/auth/login/mfa"] {
        assert!(served.remove(&("POST".to_owned(), public.to_owned())));
    }
    let tested: BTreeSet<Route> = table
        .iter()
        .map(|c| (c.method.to_string(), c.path.to_owned()))
        .collect();
    for (method, path) in served.difference(&tested) {
        wrong.push(format!("{method} {path}: served, with no row"));
    }
    for (method, path) in tested.difference(&served) {
        wrong.push(format!("{method} {path}: has a row, and is not served"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ------------------------------------------------------------- the objects

/// One user of each role (each in an organisation of their own), and what
/// the rows are set up with.
struct Fixture {
    users: Vec<TestUser>,
    /// The first administrator, who makes the accounts the rows act on.
    admin: String,
    /// A documentation organisation, for those accounts.
    organization: String,
    /// A reviewer of another organisation than the fixture's reviewer: the
    /// claimant of the clearances that one confirms or disputes.
    claimant: TestUser,
    facility: String,
}

impl Fixture {
    fn user(&self, role: &str) -> &TestUser {
        &self.users[ROLES.iter().position(|r| *r == role).unwrap()]
    }

    fn caseworker(&self) -> &str {
        &self.user("caseworker").token
    }
}

fn unique(what: &str) -> String {
    format!("{what} {}", uuid::Uuid::now_v7().simple())
}

/// An import of `rows` people by the caseworker (`token`), queued; its id.
async fn an_import(app: &TestApp, token: &str, rows: usize) -> String {
    let mut list = "full_name,status\n".to_owned();
    for i in 0..rows {
        list.push_str(&format!("Person {i},detained\n"));
    }
    let res = app
        .client
        .post(app.url("/api/v1/imports?format=csv&mode=skip_invalid"))
        .bearer_auth(token)
        .body(list)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    id_of(&res.json().await.unwrap())
}

/// A file of the fixture's caseworker; its id.
async fn a_file(app: &TestApp, fx: &Fixture, full_name: &str) -> String {
    id_of(&new_file(app, fx.caseworker(), &json!({"full_name": full_name})).await)
}

/// A file of the fixture's caseworker, accused of major crimes (so that
/// family representatives see its reviews), under an open review (so that
/// reviewers see it); the ids of both.
async fn under_review(app: &TestApp, fx: &Fixture) -> (String, String) {
    let file = id_of(&new_file(app, fx.caseworker(), &file_body(true)).await);
    let review = id_of(&open(app, fx.caseworker(), &file).await);
    (file, review)
}

/// A clearance of a major-crimes file awaiting confirmation, claimed and
/// decided by `fx.claimant`; its id.
async fn awaiting_confirmation(app: &TestApp, fx: &Fixture) -> String {
    let (_, review) = under_review(app, fx).await;
    let family = &fx.user("family_representative").token;
    let consultation = json!({"position": "no_position", "statement": "We have nothing to add."});
    step_ok(app, family, &review, "consultations", consultation).await;
    let decided = claim_and_decide(app, &fx.claimant.token, &review, "cleared_for_release").await;
    assert_eq!(decided["status"], "awaiting_confirmation");
    review
}

/// The id a row's `{id}` stands for, and the body it is sent, on objects
/// made for it.
async fn prepare(app: &TestApp, fx: &Fixture, case: &Case) -> (Option<String>, Option<Value>) {
    let cw = fx.caseworker();
    let account = || async move {
        app.user_in(&fx.admin, &fx.organization, "caseworker")
            .await
            .id
    };
    let pair = || async move {
        (
            a_file(app, fx, "Yusuf Adel Haddad").await,
            a_file(app, fx, "Yousef Adel Hadad").await,
        )
    };
    match (case.method.as_str(), case.path) {
        ("POST", "/organizations") => (
            None,
            Some(json!({"name": unique("Org"), "kind": "documentation"})),
        ),
        (_, "/organizations/{id}") => (Some(fx.organization.clone()), None),
        ("POST", "/users") => (
            None,
            Some(json!({
                "username": format!("u{}", uuid::Uuid::now_v7().simple()),
                "password": strong_password(),
                "display_name": "Matrix",
                "role": "caseworker",
                "organization_id": fx.organization,
            })),
        ),
        ("GET", "/users/{id}") => (Some(account().await), None),
        ("PATCH", "/users/{id}") => (
            Some(account().await),
            Some(json!({"display_name": unique("Renamed")})),
        ),
        ("POST", "/users/{id}/mfa/reset") => {
            // An account that has started enrolling.
            let user = app.user_in(&fx.admin, &fx.organization, "caseworker").await;
            let res = app
                .post("/api/v1/auth/mfa/totp", &user.token, &json!({}))
                .await;
            assert_eq!(res.status(), 200);
            (Some(user.id), None)
        }
        // No code is six zeros but once in a million.
        ("POST", "/auth/mfa/totp/confirm") | ("DELETE", "/auth/mfa/totp") => {
            (None, Some(json!({"code": "000000"})))
        }
        ("POST", "/users/{id}/password") => (
            Some(account().await),
            Some(json!({"password": strong_password()})),
        ),
        ("POST", "/facilities") => (None, Some(sednaya())),
        ("GET", "/facilities/{id}") => (Some(fx.facility.clone()), None),
        ("PATCH", "/facilities/{id}") => (
            Some(new_facility(app, cw).await),
            Some(json!({"notes": unique("Seen")})),
        ),
        ("POST", "/detainees/search") => (None, Some(json!({"q": "Tareq Haddad"}))),
        ("POST", "/detainees") => (None, Some(json!({"full_name": "Hala Yusuf Haddad"}))),
        // What reviewers read: a file under a review they may act on.
        (
            "GET",
            "/detainees/{id}" | "/detainees/{id}/duplicates" | "/detainees/{id}/source-notes",
        )
        | ("GET", "/detainees/{id}/custody" | "/detainees/{id}/history")
        | ("GET", "/detainees/{id}/reviews") => (Some(under_review(app, fx).await.0), None),
        ("PATCH", "/detainees/{id}") => (
            Some(a_file(app, fx, "Hala Yusuf Haddad").await),
            Some(json!({"notes": "Edited"})),
        ),
        ("DELETE", "/detainees/{id}") => (Some(a_file(app, fx, "Hala Yusuf Haddad").await), None),
        ("POST", "/detainees/{id}/restore") => {
            let id = a_file(app, fx, "Hala Yusuf Haddad").await;
            let res = app
                .delete(&format!("/api/v1/detainees/{id}"), cw, "*")
                .await;
            assert_eq!(res.status(), 204);
            (Some(id), None)
        }
        ("POST", "/detainees/{id}/custody") => (
            Some(a_file(app, fx, "Hala Yusuf Haddad").await),
            Some(json!({"facility_id": fx.facility})),
        ),
        ("POST", "/detainees/{id}/merge") => {
            let (survivor, duplicate) = pair().await;
            (Some(survivor), Some(json!({"duplicate_id": duplicate})))
        }
        ("POST", "/detainees/{id}/unmerge") => {
            let (survivor, duplicate) = pair().await;
            let body = json!({"duplicate_id": duplicate});
            let res = app
                .post(&format!("/api/v1/detainees/{survivor}/merge"), cw, &body)
                .await;
            assert_eq!(res.status(), 200);
            (Some(survivor), Some(body))
        }
        ("POST", "/detainees/{id}/reviews") => (
            Some(a_file(app, fx, "Hala Yusuf Haddad").await),
            Some(json!({})),
        ),
        // A JSON object is a list of one (JSON Lines).
        ("POST", "/imports") => (None, Some(json!({"full_name": "Hala Yusuf Haddad"}))),
        ("GET", "/imports/{id}" | "/imports/{id}/report") => {
            (Some(an_import(app, cw, 1).await), None)
        }
        // Long enough to be running still when the caseworker's turn comes.
        ("POST", "/imports/{id}/cancel") => (Some(an_import(app, cw, 20_000).await), None),
        ("POST", "/import-mappings") => (
            None,
            Some(json!({"name": unique("Mapping"), "columns": {"Nom": "full_name"}})),
        ),
        ("GET", "/import-mappings/{id}") => {
            let res = app
                .post(
                    "/api/v1/import-mappings",
                    cw,
                    &json!({"name": unique("Mapping")}),
                )
                .await;
            assert_eq!(res.status(), 201);
            (Some(id_of(&res.json().await.unwrap())), None)
        }
        ("GET", "/reviews/{id}") => (Some(under_review(app, fx).await.1), None),
        ("POST", "/reviews/{id}/withdraw" | "/reviews/{id}/claim") => {
            (Some(under_review(app, fx).await.1), Some(json!({})))
        }
        ("POST", "/reviews/{id}/decision") => {
            let (_, review) = under_review(app, fx).await;
            step_ok(app, &fx.user("reviewer").token, &review, "claim", json!({})).await;
            let body = json!({"decision": "release_withheld", "rationale": RATIONALE});
            (Some(review), Some(body))
        }
        ("POST", "/reviews/{id}/confirm") => {
            (Some(awaiting_confirmation(app, fx).await), Some(json!({})))
        }
        ("POST", "/reviews/{id}/dispute") => (
            Some(awaiting_confirmation(app, fx).await),
            Some(json!({"reason": "The families' testimony was not weighed."})),
        ),
        ("POST", "/reviews/{id}/consultations") => (
            Some(under_review(app, fx).await.1),
            Some(
                json!({"position": "opposes_release", "statement": "Our families hold testimony."}),
            ),
        ),
        // What reviewers read: evidence of a file under a review they may act on.
        ("GET", "/detainees/{id}/attachments") => (Some(under_review(app, fx).await.0), None),
        ("GET", "/attachments/{id}" | "/attachments/{id}/content") => {
            let (file, _) = under_review(app, fx).await;
            (
                Some(id_of(&attach_ok(app, cw, &file, pdf("matrix", 2000)).await)),
                None,
            )
        }
        // The body is the content itself (`send`).
        ("POST", "/detainees/{id}/attachments") => {
            (Some(a_file(app, fx, "Hala Yusuf Haddad").await), None)
        }
        ("DELETE", "/attachments/{id}") => {
            let file = a_file(app, fx, "Hala Yusuf Haddad").await;
            (
                Some(id_of(&attach_ok(app, cw, &file, pdf("matrix", 2000)).await)),
                None,
            )
        }
        ("POST", "/attachments/{id}/purge") => {
            let file = a_file(app, fx, "Hala Yusuf Haddad").await;
            let id = id_of(&attach_ok(app, cw, &file, pdf("matrix", 2000)).await);
            let res = app
                .delete(&format!("/api/v1/attachments/{id}"), cw, "*")
                .await;
            assert_eq!(res.status(), 200);
            (
                Some(id),
                Some(json!({"reason": "Uploaded to the wrong file."})),
            )
        }
        (_, path) => {
            assert!(!path.contains("{id}"), "no object for {path}");
            (None, None)
        }
    }
}

async fn the_permission_matrix_holds(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.admin_token().await;
    let mut users = Vec::new();
    for role in ROLES {
        users.push(app.user_with_role(role).await);
    }
    let fx = Fixture {
        organization: app.create_organization(&admin, "documentation").await,
        claimant: app.user_with_role("reviewer").await,
        facility: new_facility(&app, &users[1].token).await,
        users,
        admin,
    };
    let mut failures = Vec::new();
    for case in table() {
        let (id, body) = prepare(&app, &fx, &case).await;
        let path = match &id {
            Some(id) => format!("/api/v1{}", case.path.replace("{id}", id)),
            None => format!("/api/v1{}", case.path),
        };
        let send = |token: Option<String>| {
            let mut req = app
                .client
                .request(case.method.clone(), app.url(&path))
                .header("If-Match", "*");
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            if let Some(body) = &body {
                req = req.json(body);
            }
            if case.method == Method::POST && case.path == "/detainees/{id}/attachments" {
                req = req
                    .header("Content-Type", "application/pdf")
                    .header("Sijill-Filename", "statement.pdf")
                    .body(pdf("matrix", 2000));
            }
            req.send()
        };
        for (role, expected) in ROLES.iter().zip(case.expected) {
            let user = fx.user(role);
            // Logging out ends the session: a session of its own.
            let token = if case.path == "/auth/logout" {
                app.login_ok(&user.username, &user.password).await.0
            } else {
                user.token.clone()
            };
            let res = send(Some(token)).await.unwrap();
            let status = res.status().as_u16();
            if status != expected {
                failures.push(format!(
                    "{role} {} {} ({}): {status}, expected {expected}: {}",
                    case.method,
                    case.path,
                    case.action,
                    res.text().await.unwrap_or_default()
                ));
            } else if status == 403 {
                assert_problem(res, 403, "forbidden").await;
            }
        }
        // Anonymous callers are always 401.
        let status = send(None).await.unwrap().status().as_u16();
        if status != 401 {
            failures.push(format!("anonymous {} {}: {status}", case.method, case.path));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Under the default policy, an admin's and an auditor's sessions without
/// a second factor are refused every route of the table (403
/// `mfa_enrolment_required`) but those of their own session and second
/// factor; the other roles' sessions are never refused for it.
async fn every_route_but_enrolling_waits_for_the_second_factor(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.mfa_required_roles = vec![Role::Admin, Role::Auditor];
    })
    .await;
    let (admin, _) = app.login_ok("admin", ADMIN_PASSWORD).await;
    let started: Value = app
        .post("/api/v1/auth/mfa/totp", &admin, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = sijill::auth::mfa::codes::decode_base32(started["secret"].as_str().unwrap());
    let code = sijill::auth::mfa::codes::code_at(&secret.unwrap(), chrono::Utc::now().timestamp());
    let res = app
        .post(
            "/api/v1/auth/mfa/totp/confirm",
            &admin,
            &json!({"code": code}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut users = Vec::new();
    for role in ROLES {
        let org = app.create_organization(&admin, kind_for(role)).await;
        users.push(app.user_in(&admin, &org, role).await);
    }
    let mut failures = Vec::new();
    for case in table() {
        let path = format!(
            "/api/v1{}",
            case.path.replace("{id}", &uuid::Uuid::now_v7().to_string())
        );
        let open = ["UseOwnSession", "ManageOwnSecondFactor"].contains(&case.action);
        for (role, user) in ROLES.iter().zip(&users) {
            // Logging out ends the session: a session of its own.
            let token = if case.path == "/auth/logout" {
                app.login_ok(&user.username, &user.password).await.0
            } else {
                user.token.clone()
            };
            let res = app
                .client
                .request(case.method.clone(), app.url(&path))
                .header("If-Match", "*")
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let waits = status == 403 && body["code"] == "mfa_enrolment_required";
            let should_wait = ["admin", "auditor"].contains(role) && !open;
            if waits != should_wait {
                failures.push(format!(
                    "{role} {} {}: {status} {body}, expected {}",
                    case.method,
                    case.path,
                    if should_wait {
                        "mfa_enrolment_required"
                    } else {
                        "no wait"
                    }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

scenarios! {
    both: [
        the_table_covers_every_action_and_route,
        the_permission_matrix_holds,
        every_route_but_enrolling_waits_for_the_second_factor,
    ],
}
