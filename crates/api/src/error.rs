//! RFC 9457 problem details: every failure the API answers, with the field or the status that
//! explains it. A storage failure or a panic is logged and answered as a 500 that leaks nothing.

use std::any::Any;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sluice_core::{FieldError, LifecycleError, Refused, ValidationErrors};
use sluice_store::StoreError;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(Problem {
            kind: format!("https://sluice.dev/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            current_status: None,
            allowed_actions: None,
        }))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", what)
    }

    pub fn unauthorized(detail: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("the body exceeds the limit of {limit} bytes"),
        )
    }

    pub fn unsupported_media(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    pub fn invalid(errors: ValidationErrors) -> Self {
        let detail = errors.to_string();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
            detail,
        );
        e.0.errors = errors.0;
        e
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(ValidationErrors::single(field, message))
    }

    pub fn refused(r: Refused) -> Self {
        let mut e = Self::new(
            StatusCode::CONFLICT,
            "illegal-lifecycle-action",
            "Action not allowed",
            r.to_string(),
        );
        e.0.current_status = Some(r.current_status);
        e.0.allowed_actions = Some(r.allowed_actions);
        e
    }

    pub fn internal(err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::internal_response()
    }

    /// A handler (or code it called) panicked: the panic is logged — inside the request's span,
    /// which names the method and path — and the caller gets the same 500 as for any internal
    /// failure. The panic's message stays in the log: it may hold anything.
    pub fn panicked(payload: &(dyn Any + Send)) -> Self {
        log_panic(payload);
        Self::internal_response()
    }

    /// A storage call (or other work) on the blocking pool did not come back: it panicked
    /// (logged with its message, as for a panicking handler) or was cancelled at shutdown.
    pub fn join_failed(e: tokio::task::JoinError) -> Self {
        match e.try_into_panic() {
            Ok(payload) => Self::panicked(payload.as_ref()),
            Err(e) => Self::internal(&e),
        }
    }

    fn internal_response() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed to complete the request; nothing was changed; see the server log",
        )
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(&e)
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::Refused(r) => Self::refused(r),
            LifecycleError::Invalid(v) => Self::invalid(v),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        Self::refused(r)
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(v: ValidationErrors) -> Self {
        Self::invalid(v)
    }
}

impl From<sluice_commands::Error> for ApiError {
    fn from(e: sluice_commands::Error) -> Self {
        use sluice_commands::Error;
        match e {
            Error::NotFound(what) => Self::not_found(what),
            Error::Invalid(v) => Self::invalid(v),
            Error::Refused(r) => Self::refused(r),
            Error::Conflict(detail) => Self::conflict(detail),
            Error::Forbidden(detail) => Self::forbidden(detail),
            Error::Store(s) => Self::internal(&s),
            // Logged with its cause where it happened.
            Error::Failed(_) => Self::internal_response(),
        }
    }
}

/// Logs a caught panic with its message (in the current span: the request's method and path).
pub(crate) fn log_panic(payload: &(dyn Any + Send)) {
    let message = payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)");
    tracing::error!(panic = message, "a request panicked");
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(&*self.0)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
