//! Optimistic concurrency: `ETag: "<version>"` out, `If-Match` in.

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse};

use crate::error::AppError;

/// A resource that carries a version.
pub trait Versioned {
    fn version(&self) -> i64;
}

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// 200 with the resource as JSON and its ETag.
pub fn ok_with_etag<T: serde::Serialize + Versioned>(resource: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(resource.version())))
        .json(resource)
}

/// The `If-Match` precondition of a write. Absent → 428.
#[derive(Debug, Clone)]
pub enum IfMatch {
    Any,
    Versions(Vec<i64>),
    /// Present but not a version we could ever have issued: never matches.
    Unparseable,
}

impl IfMatch {
    /// 412 unless the current version is one the client named.
    pub fn check(&self, current: i64) -> Result<(), AppError> {
        let matches = match self {
            IfMatch::Any => true,
            IfMatch::Versions(versions) => versions.contains(&current),
            IfMatch::Unparseable => false,
        };
        if matches {
            Ok(())
        } else {
            Err(AppError::PreconditionFailed)
        }
    }

    fn parse(value: &str) -> IfMatch {
        if value.trim() == "*" {
            return IfMatch::Any;
        }
        let versions: Option<Vec<i64>> = value
            .split(',')
            .map(|tag| {
                let tag = tag.trim();
                // If-Match uses strong comparison: weak tags never match.
                tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
            })
            .collect();
        versions.map_or(IfMatch::Unparseable, IfMatch::Versions)
    }
}

impl FromRequest for IfMatch {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let result = match req.headers().get(header::IF_MATCH) {
            None => Err(AppError::PreconditionRequired.into()),
            Some(value) => Ok(value.to_str().map_or(IfMatch::Unparseable, IfMatch::parse)),
        };
        std::future::ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_strong_versions() {
        assert!(IfMatch::parse("\"3\"").check(3).is_ok());
        assert!(IfMatch::parse("\"2\", \"3\"").check(3).is_ok());
        assert!(IfMatch::parse("\"2\"").check(3).is_err());
        assert!(IfMatch::parse("W/\"3\"").check(3).is_err());
        assert!(IfMatch::parse("3").check(3).is_err());
        assert!(IfMatch::parse("*").check(7).is_ok());
    }
}
