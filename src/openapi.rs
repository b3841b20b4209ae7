//! The OpenAPI 3.1 document. Its paths are collected from the registration
//! that serves them (`startup::routes`, through `utoipa-actix-web`, handed
//! in by `startup`, so that the document does not depend on the server that
//! serves it), and each operation from its handler's `#[utoipa::path]`
//! annotation; there is no list of routes to keep in step by hand.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::OpenApi;

use actix_web::App;
use serde_json::{json, Value};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

use crate::{
    audit, auth, detainees, error, facilities, http, organizations, reviews, search, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sijill",
        description = "Case management for documenting detained and forcibly disappeared people: \
            detainee files, independent review before release, and a tamper-evident audit log.",
    ),
    components(schemas(
        error::Problem,
        crate::domain::schema::Label,
        crate::domain::schema::Notes,
        crate::domain::schema::RequiredNotes,
        crate::domain::schema::Rationale,
        crate::domain::schema::Aliases,
        crate::domain::schema::UsernameText,
        crate::domain::schema::NewPassword,
        http::pagination::PageLimit,
        http::pagination::IdCursor,
        http::pagination::SeqCursor,
        auth::routes::LoginRequest,
        auth::routes::RefreshRequest,
        auth::routes::TokenPair,
        organizations::Organization,
        organizations::OrganizationKind,
        organizations::model::NewOrganization,
        users::User,
        users::Role,
        users::model::NewUser,
        users::model::UserPatch,
        users::model::PasswordReset,
        facilities::Facility,
        facilities::model::FacilityFields,
        facilities::model::NewFacility,
        facilities::model::FacilityPatch,
        facilities::FacilityKind,
        facilities::FacilityStatus,
        detainees::model::DetaineeView,
        detainees::routes::SourceNotes,
        crate::attachments::model::AttachmentView,
        crate::attachments::routes::PurgeRequest,
        detainees::model::DetaineeFields,
        detainees::model::NewDetainee,
        detainees::model::DetaineePatch,
        detainees::model::Sex,
        detainees::DetaineeStatus,
        detainees::model::Category,
        detainees::ReviewStatus,
        detainees::custody::CustodyEvent,
        detainees::custody::NewCustodyEvent,
        crate::domain::PartialDate,
        search::routes::SearchRequest,
        search::routes::SearchResults,
        search::routes::SearchHit,
        search::routes::MatchedOn,
        search::routes::MatchedToken,
        search::routes::Duplicates,
        detainees::merge::routes::MergeRequest,
        search::routes::DuplicateHit,
        reviews::model::ReviewView,
        reviews::model::ReviewState,
        reviews::model::Decision,
        reviews::model::Position,
        reviews::model::Consultation,
        reviews::model::ReducedFile,
        reviews::model::EmbeddedFile,
        reviews::model::OpenReview,
        reviews::model::ClaimReview,
        reviews::model::DecideReview,
        reviews::model::ConfirmReview,
        reviews::model::DisputeReview,
        reviews::model::WithdrawReview,
        reviews::model::NewConsultation,
        audit::access::AccessEntry,
        audit::AuditEntry,
        audit::routes::VerifyReport,
        audit::routes::SeqOrder,
        audit::checkpoint::SignedHead,
        http::Page<users::User>,
    )),
    tags(
        (name = "auth", description = "Log in, refresh, log out"),
        (name = "organizations", description = "Organisations"),
        (name = "users", description = "Accounts"),
        (name = "facilities", description = "The shared registry of places of detention"),
        (name = "detainees", description = "Detainee files, custody and history"),
        (name = "reviews", description = "Independent review before release: see docs/review-workflow.md"),
        (name = "audit", description = "The tamper-evident audit log and the access log"),
        (name = "imports", description = "Imports of lists kept elsewhere: see docs/imports.md"),
        (name = "attachments", description = "Evidence attached to files, encrypted at rest: see docs/attachments.md"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

/// The whole document: what `ApiDoc` declares, the paths of every route
/// `routes` registers (the server passes `startup::routes`, the very
/// registration it serves), and what holds for every route alike.
pub fn document(routes: impl FnOnce(&mut ServiceConfig)) -> utoipa::openapi::OpenApi {
    let (_, mut openapi) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    let components = openapi.components.get_or_insert_with(Default::default);
    let mut scheme = Http::new(HttpAuthScheme::Bearer);
    scheme.bearer_format = Some("JWT (EdDSA, typ at+jwt)".to_owned());
    components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    for (path, operation) in operations(&mut openapi) {
        add_shared_responses(&path, operation);
        problem_responses_are_problem_json(operation);
        qualify_operation_ids(operation);
    }
    openapi
}

/// Links from a response that carries a resource's `ETag` to that
/// resource's PATCH and DELETE, with the ETag as their `If-Match`: from the
/// resource's GET (the id from the request) and from its collection's POST
/// (the id from the created body). Clients, and schemathesis's stateful
/// phase, learn from them how to write what they have just read.
///
/// Added to the JSON rather than through utoipa's `Link`, which serialises
/// its members in snake case (`operation_id`) where OpenAPI says
/// `operationId` (utoipa 5.5).
fn add_etag_links(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let writable: Vec<(String, Vec<(String, String)>)> = paths
        .iter()
        .filter(|(path, _)| path.ends_with("/{id}"))
        .map(|(path, item)| {
            let targets = ["patch", "delete"]
                .into_iter()
                .filter_map(|method| {
                    let id = item.get(method)?.get("operationId")?.as_str()?;
                    Some((method.to_owned(), id.to_owned()))
                })
                .collect();
            (path.clone(), targets)
        })
        .filter(|(_, targets): &(String, Vec<_>)| !targets.is_empty())
        .collect();
    for (path, targets) in writable {
        let collection = path.trim_end_matches("/{id}").to_owned();
        let sources = [
            (path, "get", "200", "$request.path.id"),
            (collection, "post", "201", "$response.body#/id"),
        ];
        for (source, method, status, id) in sources {
            let Some(response) = paths
                .get_mut(&source)
                .and_then(|item| item.get_mut(method))
                .and_then(|operation| operation.pointer_mut(&format!("/responses/{status}")))
            else {
                continue;
            };
            if response.pointer("/headers/ETag").is_none() {
                continue;
            }
            let links: serde_json::Map<String, Value> = targets
                .iter()
                .map(|(target, operation_id)| {
                    let link = json!({
                        "operationId": operation_id,
                        "parameters": {"path.id": id, "header.If-Match": "$response.header.ETag"},
                        "description": "The same resource, with the ETag just received as If-Match",
                    });
                    (target.clone(), link)
                })
                .collect();
            if let Some(response) = response.as_object_mut() {
                response.insert("links".to_owned(), Value::Object(links));
            }
        }
    }
}

/// Every operation's id is `{tag}_{handler}`: handlers' names repeat across
/// modules (`list`, `get`), and OpenAPI wants each id once.
fn qualify_operation_ids(operation: &mut Operation) {
    let tag = operation
        .tags
        .as_ref()
        .and_then(|tags| tags.first())
        .cloned();
    if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut()) {
        *id = format!("{tag}_{id}");
    }
}

/// The methods the API uses, in the order `Allow` lists them.
pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A path item's operation of each of `METHODS`, in that order:
/// `method_slots!(ref item)` or `method_slots!(mut item)`.
macro_rules! method_slots {
    (ref $item:expr) => {
        [
            ("GET", &$item.get),
            ("POST", &$item.post),
            ("PUT", &$item.put),
            ("PATCH", &$item.patch),
            ("DELETE", &$item.delete),
        ]
    };
    (mut $item:expr) => {
        [
            ("GET", &mut $item.get),
            ("POST", &mut $item.post),
            ("PUT", &mut $item.put),
            ("PATCH", &mut $item.patch),
            ("DELETE", &mut $item.delete),
        ]
    };
}
pub(crate) use method_slots;

/// Every operation of the document, with its path.
fn operations(openapi: &mut utoipa::openapi::OpenApi) -> Vec<(String, &mut Operation)> {
    let mut all = Vec::new();
    for (path, item) in openapi.paths.paths.iter_mut() {
        for (_, operation) in method_slots!(mut item) {
            if let Some(operation) = operation.as_mut() {
                all.push((path.clone(), operation));
            }
        }
    }
    all
}

/// Routes outside `/api/v1` that never touch the database.
const WITHOUT_DATABASE: [&str; 3] = ["/healthz", "/metrics", "/openapi.json"];

/// The routes a session that still needs a second factor may call
/// (`auth::permissions::open_before_enrolment`).
const OPEN_BEFORE_ENROLMENT: [&str; 4] = [
    "/api/v1/auth/me",
    "/api/v1/auth/logout",
    "/api/v1/auth/mfa/totp",
    "/api/v1/auth/mfa/totp/confirm",
];

const ENROLMENT_REQUIRED: &str = "The caller's role needs a second factor this session was not \
                                  proven with (mfa_enrolment_required)";

/// Every other authenticated route answers 403 `mfa_enrolment_required` to
/// such a session: said in its 403, or as its 403.
fn note_enrolment_required(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    match responses.get_mut("403") {
        Some(RefOr::T(response)) => {
            response.description = format!("{}; or: {ENROLMENT_REQUIRED}", response.description);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            responses.insert(
                "403".to_owned(),
                ResponseBuilder::new()
                    .description(ENROLMENT_REQUIRED)
                    .content(
                        "application/problem+json",
                        Content::new(Some(Ref::from_schema_name("Problem"))),
                    )
                    .into(),
            );
        }
    }
}

/// What the server's shared layers answer on any route they apply to, so
/// that no annotation can forget one: a malformed path parameter or query
/// (400), a JSON body that is malformed (400), too large (413) or not JSON
/// (415), a missing or bad token (401), headers over the limit (431), and a
/// database that does not answer (503).
fn add_shared_responses(path: &str, operation: &mut Operation) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let in_path = parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Path);
    let in_query = parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Query);
    let has_body = operation.request_body.is_some();
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let mut shared = Vec::new();
    if in_path {
        shared.push(("400", "A path parameter is malformed (invalid_path)"));
    }
    if in_query {
        shared.push(("400", "A query parameter is malformed or unknown"));
    }
    if has_body {
        shared.push(("400", "The body is not well-formed JSON of this shape"));
        shared.push(("413", "The body is larger than 256 KiB (payload_too_large)"));
        shared.push((
            "415",
            "The body is not application/json (unsupported_media_type)",
        ));
    }
    if secured {
        shared.push(("401", "No valid access token (unauthorized)"));
    }
    if secured && !OPEN_BEFORE_ENROLMENT.contains(&path) {
        note_enrolment_required(operation);
    }
    shared.push((
        "431",
        "The request's headers are over 16 KiB (request_header_fields_too_large)",
    ));
    if !WITHOUT_DATABASE.contains(&path) {
        shared.push((
            "503",
            "The database does not answer; try again (unavailable)",
        ));
    }
    for (status, description) in shared {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/problem+json",
                        Content::new(Some(Ref::from_schema_name("Problem"))),
                    )
                    .into()
            });
    }
}

/// The document as served, serialised once at start-up (with its links).
pub struct Document(actix_web::web::Bytes);

impl Document {
    pub fn new(openapi: &utoipa::openapi::OpenApi) -> Result<Self, serde_json::Error> {
        let mut json = serde_json::to_value(openapi)?;
        add_etag_links(&mut json);
        Ok(Document(serde_json::to_vec(&json)?.into()))
    }

    pub fn json(&self) -> actix_web::web::Bytes {
        self.0.clone()
    }
}

/// Error responses are sent as `application/problem+json`; say so in the
/// document without repeating it on every annotation.
fn problem_responses_are_problem_json(operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(Response { content, .. }) = response {
            let is_problem = content.get("application/json").is_some_and(|c| {
                matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"))
            });
            if is_problem {
                if let Some(media) = content.shift_remove("application/json") {
                    content.insert("application/problem+json".to_owned(), media);
                }
            }
        }
    }
}
