//! One error type for the whole service, rendered as RFC 9457 problem+json.
//!
//! Every failure a client can cause maps to a stable `code`; internal causes
//! are logged (with the request id) and never sent to the client.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:sijill:problem:not_found",
    "title": "Not Found",
    "status": 404,
    "detail": "no such resource, or not visible to you",
    "code": "not_found"
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:sijill:problem:{code}`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The HTTP reason phrase.
    pub title: String,
    /// The HTTP status, equal to the response's.
    pub status: u16,
    /// A human-readable explanation; never internals.
    pub detail: String,
    /// A stable machine-readable code.
    pub code: String,
    /// With `mfa_required` only: the token that finishes this login at
    /// `POST /auth/login/mfa`, once, within `expires_in` seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub mfa_token: Option<String>,
    /// With `mfa_required` only: seconds the `mfa_token` stays valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// Every `code` a problem can carry, with its status: the one list. A
/// variant renamed or removed breaks the build where it is used, not a
/// client; `code_table` in the tests pins each to its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    // 400: the request is malformed.
    InvalidJson,
    UnknownField,
    /// A body of the wrong shape (400) or a value the rules refuse (422).
    ValidationFailed,
    InvalidPath,
    InvalidQuery,
    UnknownParameter,
    InvalidCursor,
    // 422: a second-factor code that does not match (enrolment, disabling).
    MfaCodeMismatch,
    // 409: the request conflicts with what is stored.
    Conflict,
    ReviewRequired,
    AlreadyOpen,
    InvalidTransition,
    ConsultationRequired,
    MfaAlreadyEnrolled,
    MfaNotEnrolled,
    ExternalRefTaken,
    // Attachments (docs/attachments.md).
    InvalidFilename,
    InvalidDescription,
    LengthRequired,
    LengthMismatch,
    UnsupportedAttachmentType,
    ContentTypeMismatch,
    EmptyAttachment,
    AlreadyArchived,
    NotArchived,
    ContentPurged,
    RangeNotSatisfiable,
}

impl Code {
    pub const ALL: [Code; 27] = [
        Code::InvalidJson,
        Code::UnknownField,
        Code::ValidationFailed,
        Code::InvalidPath,
        Code::InvalidQuery,
        Code::UnknownParameter,
        Code::InvalidCursor,
        Code::Conflict,
        Code::ReviewRequired,
        Code::AlreadyOpen,
        Code::InvalidTransition,
        Code::ConsultationRequired,
        Code::MfaCodeMismatch,
        Code::MfaAlreadyEnrolled,
        Code::MfaNotEnrolled,
        Code::ExternalRefTaken,
        Code::InvalidFilename,
        Code::InvalidDescription,
        Code::LengthRequired,
        Code::LengthMismatch,
        Code::UnsupportedAttachmentType,
        Code::ContentTypeMismatch,
        Code::EmptyAttachment,
        Code::AlreadyArchived,
        Code::NotArchived,
        Code::ContentPurged,
        Code::RangeNotSatisfiable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidJson => "invalid_json",
            Code::UnknownField => "unknown_field",
            Code::ValidationFailed => "validation_failed",
            Code::InvalidPath => "invalid_path",
            Code::InvalidQuery => "invalid_query",
            Code::UnknownParameter => "unknown_parameter",
            Code::InvalidCursor => "invalid_cursor",
            Code::Conflict => "conflict",
            Code::ReviewRequired => "review_required",
            Code::AlreadyOpen => "already_open",
            Code::InvalidTransition => "invalid_transition",
            Code::ConsultationRequired => "consultation_required",
            Code::MfaCodeMismatch => "mfa_code_mismatch",
            Code::MfaAlreadyEnrolled => "mfa_already_enrolled",
            Code::MfaNotEnrolled => "mfa_not_enrolled",
            Code::ExternalRefTaken => "external_ref_taken",
            Code::InvalidFilename => "invalid_filename",
            Code::InvalidDescription => "invalid_description",
            Code::LengthRequired => "length_required",
            Code::LengthMismatch => "length_mismatch",
            Code::UnsupportedAttachmentType => "unsupported_attachment_type",
            Code::ContentTypeMismatch => "content_type_mismatch",
            Code::EmptyAttachment => "empty_attachment",
            Code::AlreadyArchived => "already_archived",
            Code::NotArchived => "not_archived",
            Code::ContentPurged => "content_purged",
            Code::RangeNotSatisfiable => "range_not_satisfiable",
        }
    }
}

#[derive(thiserror::Error)]
pub enum AppError {
    /// Input that could not be accepted (400 or 422).
    #[error("{detail}")]
    Invalid {
        status: StatusCode,
        code: Code,
        detail: String,
    },
    #[error("authentication required")]
    Unauthorized,
    #[error("invalid username or password")]
    BadCredentials,
    /// The password was right; the account has a second factor.
    #[error("this account needs its second factor: send a code with the mfa_token to POST /auth/login/mfa")]
    MfaRequired { mfa_token: String, expires_in: u64 },
    #[error("the mfa_token is unknown, used or expired: log in again")]
    MfaTokenInvalid,
    #[error("the code is wrong, or was used already")]
    MfaCodeInvalid,
    /// The role needs a second factor this session was not proven with.
    #[error("{0}")]
    MfaEnrolmentRequired(&'static str),
    #[error("this action is not allowed for your role")]
    Forbidden,
    /// Refused whatever the role, for the reason given.
    #[error("{0}")]
    ForbiddenBecause(&'static str),
    #[error("no such resource, or not visible to you")]
    NotFound,
    #[error("{detail}")]
    Conflict { code: Code, detail: String },
    #[error("the resource has changed since you read it (If-Match does not match)")]
    PreconditionFailed,
    #[error("this request needs an If-Match header with the resource's ETag")]
    PreconditionRequired,
    #[error("the request body is larger than the server accepts")]
    PayloadTooLarge,
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("the request headers are larger than the server accepts")]
    HeadersTooLarge,
    #[error("this method is not allowed here")]
    MethodNotAllowed { allow: String },
    #[error("too many attempts; try again later")]
    RateLimited { retry_after_secs: u64 },
    #[error("the service is temporarily unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl AppError {
    pub fn validation(detail: impl Into<String>) -> Self {
        AppError::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: Code::ValidationFailed,
            detail: detail.into(),
        }
    }

    /// A well-formed value the rules refuse, with a code of its own (422).
    pub fn unprocessable(code: Code, detail: impl Into<String>) -> Self {
        AppError::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            detail: detail.into(),
        }
    }

    /// Input refused with its own status (411, 415, 416, 410 …).
    pub fn refused(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        AppError::Invalid {
            status,
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(code: Code, detail: impl Into<String>) -> Self {
        AppError::Invalid {
            status: StatusCode::BAD_REQUEST,
            code,
            detail: detail.into(),
        }
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code: Code::Conflict,
            detail: detail.into(),
        }
    }

    pub fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError::Internal(Box::new(err))
    }

    pub fn internal_msg(msg: impl Into<String>) -> Self {
        AppError::Internal(msg.into().into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { code, .. } => code.as_str(),
            AppError::Unauthorized | AppError::BadCredentials => "unauthorized",
            AppError::MfaRequired { .. } => "mfa_required",
            AppError::MfaTokenInvalid => "mfa_token_invalid",
            AppError::MfaCodeInvalid => "mfa_code_invalid",
            AppError::MfaEnrolmentRequired(_) => "mfa_enrolment_required",
            AppError::Forbidden | AppError::ForbiddenBecause(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Conflict { code, .. } => code.as_str(),
            AppError::PreconditionFailed => "precondition_failed",
            AppError::PreconditionRequired => "precondition_required",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::HeadersTooLarge => "request_header_fields_too_large",
            AppError::MethodNotAllowed { .. } => "method_not_allowed",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            // The cause of an internal error stays in the logs.
            AppError::Internal(_) => "an internal error occurred; it has been logged".to_owned(),
            AppError::Unavailable(_) => "the service is temporarily unavailable".to_owned(),
            other => other.to_string(),
        };
        let mut problem = Problem {
            problem_type: format!("urn:sijill:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code: self.code().to_owned(),
            mfa_token: None,
            expires_in: None,
        };
        if let AppError::MfaRequired {
            mfa_token,
            expires_in,
        } = self
        {
            problem.mfa_token = Some(mfa_token.clone());
            problem.expires_in = Some(*expires_in);
        }
        problem
    }
}

/// Walk the whole `source()` chain, so logs show the root cause.
impl std::fmt::Debug for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        if let AppError::Unavailable(cause) = self {
            write!(f, ": {cause}")?;
        }
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Invalid { status, .. } => *status,
            AppError::Unauthorized
            | AppError::BadCredentials
            | AppError::MfaRequired { .. }
            | AppError::MfaTokenInvalid
            | AppError::MfaCodeInvalid => StatusCode::UNAUTHORIZED,
            AppError::Forbidden
            | AppError::ForbiddenBecause(_)
            | AppError::MfaEnrolmentRequired(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(_) | AppError::Unavailable(_) => {
                tracing::error!(error = ?self, "request failed")
            }
            _ => tracing::debug!(code = self.code(), "request refused"),
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            AppError::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            AppError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            AppError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            AppError::Unauthorized
            | AppError::BadCredentials
            | AppError::MfaRequired { .. }
            | AppError::MfaTokenInvalid
            | AppError::MfaCodeInvalid => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        // Serialising a struct of strings cannot fail; fall back to an empty object anyway.
        let body = serde_json::to_vec(&self.problem()).unwrap_or_else(|_| b"{}".to_vec());
        response.body(body)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        // The connection went away (the database restarted, the network
        // failed): nothing is wrong with the request, and a write's outcome
        // is unknown, so never a success. 503 with Retry-After.
        if crate::db::is_connection_failure(&err) {
            return AppError::Unavailable(format!("database connection: {err}"));
        }
        match err {
            Error::NotFound => AppError::NotFound,
            // The one unique value a client chooses for a file.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info.message().contains("external_ref")
                    || info
                        .constraint_name()
                        .is_some_and(|c| c.contains("external_ref")) =>
            {
                AppError::Conflict {
                    code: Code::ExternalRefTaken,
                    detail: "another file of the organisation has this external_ref".into(),
                }
            }
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                AppError::conflict("a resource with these values already exists")
            }
            other => AppError::internal(other),
        }
    }
}

/// No pooled connection within the checkout timeout: the database is
/// unreachable (the error carries the last attempt's cause) or busy.
impl From<r2d2::Error> for AppError {
    fn from(err: r2d2::Error) -> Self {
        AppError::Unavailable(format!("database pool: {err}"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        AppError::internal(err)
    }
}

/// Pull the quoted name out of serde's "unknown field `x`, expected …".
fn quoted_name(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// serde messages end with " at line 1 column 17"; that is noise to a client.
fn without_position(message: &str) -> &str {
    match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

fn describe_serde_message(message: &str) -> AppError {
    if message.starts_with("unknown field") {
        let name = quoted_name(message).unwrap_or("?");
        AppError::bad_request(Code::UnknownField, format!("unknown field `{name}`"))
    } else {
        AppError::bad_request(Code::ValidationFailed, without_position(message).to_owned())
    }
}

pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let app = match &err {
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType,
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            AppError::PayloadTooLarge
        }
        JsonPayloadError::Deserialize(e) => match e.classify() {
            serde_json::error::Category::Data => describe_serde_message(&e.to_string()),
            _ => AppError::bad_request(Code::InvalidJson, "the request body is not valid JSON"),
        },
        JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => {
            AppError::PayloadTooLarge
        }
        _ => AppError::bad_request(Code::InvalidJson, "the request body could not be read"),
    };
    app.into()
}

pub fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::bad_request(
        Code::InvalidPath,
        "a path parameter is malformed (expected a UUID)",
    )
    .into()
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let app = match &err {
        QueryPayloadError::Deserialize(e) => {
            let message = e.to_string();
            if message.starts_with("unknown field") {
                let name = quoted_name(&message).unwrap_or("?");
                AppError::bad_request(
                    Code::UnknownParameter,
                    format!("unknown query parameter `{name}`"),
                )
            } else {
                AppError::bad_request(Code::InvalidQuery, without_position(&message).to_owned())
            }
        }
        _ => AppError::bad_request(Code::InvalidQuery, "the query string is malformed"),
    };
    app.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code, as the errors that carry it answer: the table in
    /// docs/security.md says the same.
    #[test]
    fn code_table() {
        let table = [
            (Code::InvalidJson, 400, "invalid_json"),
            (Code::UnknownField, 400, "unknown_field"),
            (Code::ValidationFailed, 400, "validation_failed"),
            (Code::InvalidPath, 400, "invalid_path"),
            (Code::InvalidQuery, 400, "invalid_query"),
            (Code::UnknownParameter, 400, "unknown_parameter"),
            (Code::InvalidCursor, 400, "invalid_cursor"),
            (Code::MfaCodeMismatch, 422, "mfa_code_mismatch"),
            (Code::Conflict, 409, "conflict"),
            (Code::ReviewRequired, 409, "review_required"),
            (Code::AlreadyOpen, 409, "already_open"),
            (Code::InvalidTransition, 409, "invalid_transition"),
            (Code::ConsultationRequired, 409, "consultation_required"),
            (Code::MfaAlreadyEnrolled, 409, "mfa_already_enrolled"),
            (Code::MfaNotEnrolled, 409, "mfa_not_enrolled"),
            (Code::ExternalRefTaken, 409, "external_ref_taken"),
            (Code::InvalidFilename, 400, "invalid_filename"),
            (Code::InvalidDescription, 400, "invalid_description"),
            (Code::LengthRequired, 411, "length_required"),
            (Code::LengthMismatch, 400, "length_mismatch"),
            (
                Code::UnsupportedAttachmentType,
                415,
                "unsupported_attachment_type",
            ),
            (Code::ContentTypeMismatch, 422, "content_type_mismatch"),
            (Code::EmptyAttachment, 422, "empty_attachment"),
            (Code::AlreadyArchived, 409, "already_archived"),
            (Code::NotArchived, 409, "not_archived"),
            (Code::ContentPurged, 410, "content_purged"),
            (Code::RangeNotSatisfiable, 416, "range_not_satisfiable"),
        ];
        assert_eq!(
            table.len(),
            Code::ALL.len(),
            "a code missing from the table"
        );
        for (code, status, text) in table {
            assert!(Code::ALL.contains(&code));
            assert_eq!(code.as_str(), text);
            let error = match status {
                409 => AppError::Conflict {
                    code,
                    detail: "x".into(),
                },
                422 => AppError::unprocessable(code, "x"),
                400 => AppError::bad_request(code, "x"),
                other => AppError::refused(StatusCode::from_u16(other).unwrap(), code, "x"),
            };
            let problem = error.problem();
            assert_eq!((problem.status, problem.code.as_str()), (status, text));
        }
        // A value the rules refuse is the same code, as 422.
        assert_eq!(AppError::validation("x").problem().status, 422);
    }

    /// The mapping from error to status and code is part of the API contract.
    #[test]
    fn every_error_maps_to_its_status_and_code() {
        let cases: Vec<(AppError, u16, &str)> = vec![
            (AppError::validation("x"), 422, "validation_failed"),
            (
                AppError::bad_request(Code::InvalidCursor, "x"),
                400,
                "invalid_cursor",
            ),
            (AppError::Unauthorized, 401, "unauthorized"),
            (AppError::BadCredentials, 401, "unauthorized"),
            (AppError::MfaTokenInvalid, 401, "mfa_token_invalid"),
            (AppError::MfaCodeInvalid, 401, "mfa_code_invalid"),
            (
                AppError::MfaEnrolmentRequired("x"),
                403,
                "mfa_enrolment_required",
            ),
            (AppError::Forbidden, 403, "forbidden"),
            (AppError::NotFound, 404, "not_found"),
            (AppError::conflict("x"), 409, "conflict"),
            (AppError::PreconditionFailed, 412, "precondition_failed"),
            (AppError::PreconditionRequired, 428, "precondition_required"),
            (AppError::PayloadTooLarge, 413, "payload_too_large"),
            (
                AppError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (
                AppError::RateLimited {
                    retry_after_secs: 3,
                },
                429,
                "rate_limited",
            ),
            (
                AppError::Unavailable("secret SQL".into()),
                503,
                "unavailable",
            ),
            (AppError::internal_msg("secret SQL"), 500, "internal_error"),
        ];
        for (err, status, code) in cases {
            let problem = err.problem();
            assert_eq!(problem.status, status, "{code}");
            assert_eq!(problem.code, code);
            assert!(!problem.detail.contains("secret SQL"));
        }
    }

    /// A lost database connection is the service being unavailable, not
    /// an internal error; a failed query stays what it was.
    #[test]
    fn lost_connections_are_unavailable() {
        use diesel::result::{DatabaseErrorKind, Error};
        let lost = Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection unexpectedly".to_owned()),
        );
        let err = AppError::from(lost);
        assert_eq!(err.code(), "unavailable");
        assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.problem().detail.contains("server closed"));
        let response = err.error_response();
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");

        let unknown = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("permission denied for table audit_log".to_owned()),
        );
        assert_eq!(AppError::from(unknown).code(), "internal_error");
        assert_eq!(AppError::from(Error::NotFound).code(), "not_found");
    }

    #[test]
    fn serde_positions_are_not_echoed() {
        let err = describe_serde_message(
            "invalid type: integer `5`, expected a string at line 1 column 9",
        );
        assert_eq!(
            err.to_string(),
            "invalid type: integer `5`, expected a string"
        );
        let err = describe_serde_message(
            "unknown field `role`, expected one of `a`, `b` at line 1 column 3",
        );
        assert_eq!(err.code(), "unknown_field");
        assert_eq!(err.to_string(), "unknown field `role`");
    }
}
