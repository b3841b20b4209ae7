//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    audit, auth, detainees, error, facilities, http, ops, organizations, reviews, search, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sijill",
        description = "Case management for documenting detained and forcibly disappeared people: \
            detainee files, independent review before release, and a tamper-evident audit log.",
    ),
    paths(
        auth::routes::login,
        auth::routes::refresh,
        auth::routes::logout,
        auth::routes::me,
        organizations::routes::create,
        organizations::routes::list,
        organizations::routes::get,
        users::routes::create,
        users::routes::list,
        users::routes::get,
        users::routes::update,
        users::routes::reset_password,
        facilities::routes::create,
        facilities::routes::list,
        facilities::routes::get,
        facilities::routes::update,
        detainees::routes::create,
        detainees::routes::list,
        detainees::routes::get,
        detainees::routes::update,
        detainees::routes::archive,
        detainees::routes::restore,
        detainees::routes::list_custody,
        detainees::routes::create_custody,
        detainees::routes::history,
        search::routes::search,
        search::routes::duplicates,
        detainees::merge::merge,
        detainees::merge::unmerge,
        reviews::routes::open,
        reviews::routes::list_for_file,
        reviews::routes::list,
        reviews::routes::get,
        reviews::routes::claim,
        reviews::routes::decide,
        reviews::routes::confirm,
        reviews::routes::dispute,
        reviews::routes::withdraw,
        reviews::routes::consult,
        audit::routes::list,
        audit::routes::access,
        audit::routes::verify,
        audit::routes::head,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        ops::openapi,
    ),
    components(schemas(
        error::Problem,
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
        detainees::merge::MergeRequest,
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
        audit::checkpoint::SignedHead,
        http::Page<users::User>,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Log in, refresh, log out"),
        (name = "organizations", description = "Organisations"),
        (name = "users", description = "Accounts"),
        (name = "facilities", description = "The shared registry of places of detention"),
        (name = "detainees", description = "Detainee files, custody and history"),
        (name = "reviews", description = "Independent review before release: see docs/review-workflow.md"),
        (name = "audit", description = "The tamper-evident audit log and the access log"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT (EdDSA, typ at+jwt)".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        problem_responses_are_problem_json(openapi);
    }
}

/// Error responses are sent as `application/problem+json`; say so in the
/// document without repeating it on every annotation.
fn problem_responses_are_problem_json(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{RefOr, Response};
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
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
    }
}
