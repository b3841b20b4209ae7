//! What answers a request that no route took: 405 problem+json with an
//! `Allow` header when the path is one the API has (for other methods), 404
//! otherwise. actix's own answer would be an empty 404 either way.
//!
//! The table is read from the OpenAPI document, whose paths are collected
//! from the very registration that serves them (`startup::routes`), so the
//! `Allow` header, the router and the document cannot disagree.

use std::collections::HashMap;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};
use utoipa::openapi::OpenApi;

use crate::error::AppError;

/// A path of the API and its methods, in the order `Allow` lists them.
struct Route {
    pattern: ResourceDef,
    methods: Vec<&'static str>,
}

pub struct MethodTable {
    /// Paths with no `{parameter}`, by their exact text: looked up on every
    /// request (`literal_paths`), so a hash lookup, not a scan. A literal
    /// path such as `/detainees/search` wins over `/detainees/{id}`, as it
    /// does in the router.
    literals: HashMap<String, Route>,
    /// Paths with parameters, consulted only for requests no route took.
    patterns: Vec<Route>,
}

impl MethodTable {
    pub fn from_document(document: &OpenApi) -> Self {
        let mut literals = HashMap::new();
        let mut patterns = Vec::new();
        for (path, item) in &document.paths.paths {
            let route = Route {
                pattern: ResourceDef::new(path.as_str()),
                methods: crate::openapi::method_slots!(ref item)
                    .into_iter()
                    .filter(|(_, operation)| operation.is_some())
                    .map(|(method, _)| method)
                    .collect(),
            };
            if path.contains('{') {
                patterns.push(route);
            } else {
                literals.insert(path.clone(), route);
            }
        }
        MethodTable { literals, patterns }
    }

    /// The `Allow` header for a path the API has, or `None` for one it has
    /// not: the literal route's methods, or those of every pattern it fits.
    pub fn allowed(&self, path: &str) -> Option<String> {
        if let Some(route) = self.literals.get(path) {
            return Some(route.methods.join(", "));
        }
        let matching: Vec<&Route> = self
            .patterns
            .iter()
            .filter(|route| route.pattern.is_match(path))
            .collect();
        if matching.is_empty() {
            return None;
        }
        let allow: Vec<&str> = crate::openapi::METHODS
            .into_iter()
            .filter(|method| matching.iter().any(|route| route.methods.contains(method)))
            .collect();
        Some(allow.join(", "))
    }
}

/// Before routing: a literal path asked with a method it does not have is
/// 405 at once. Without this, a GET of `/detainees/search` would reach
/// `/detainees/{id}` and be answered as a file id that is not one (or, with
/// no token, as 401) instead of as the wrong method.
pub async fn literal_paths(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refused = request
        .app_data::<web::Data<MethodTable>>()
        .and_then(|table| table.literals.get(request.match_info().as_str()))
        .filter(|route| !route.methods.contains(&request.method().as_str()))
        .map(|route| AppError::MethodNotAllowed {
            allow: route.methods.join(", "),
        });
    if let Some(error) = refused {
        let response = actix_web::ResponseError::error_response(&error);
        return Ok(request.into_response(response).map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}

/// The default service: 405 for a known path, 404 for any other.
pub async fn unrouted(
    request: HttpRequest,
    table: web::Data<MethodTable>,
) -> Result<actix_web::HttpResponse, AppError> {
    Err(match table.allowed(request.match_info().as_str()) {
        Some(allow) => AppError::MethodNotAllowed { allow },
        None => AppError::NotFound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> MethodTable {
        MethodTable::from_document(&crate::openapi::document(crate::startup::routes))
    }

    #[test]
    fn a_literal_path_is_not_taken_for_a_parameter() {
        let table = table();
        assert_eq!(
            table.allowed("/api/v1/detainees/search").as_deref(),
            Some("POST")
        );
        assert_eq!(
            table
                .allowed("/api/v1/detainees/0190c1a2-0000-7000-8000-000000000000")
                .as_deref(),
            Some("GET, PATCH, DELETE")
        );
        assert_eq!(table.allowed("/api/v1/nothing-here"), None);
        assert_eq!(table.allowed("/api/v1/detainees/x/y/z"), None);
    }
}
