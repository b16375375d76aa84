//! Request extractors whose failures are problem+json: JSON bodies (400 malformed, 413 too
//! large, 415 wrong type, 422 naming the field, including unknown fields) and query strings.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body, decoded strictly.
pub struct Json<T>(pub T);

/// A JSON body that may be absent (an empty body means `T::default()`), for `{reason}`.
pub struct OptionalJson<T>(pub T);

fn body_error(e: &BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        // The limit itself is a setting; the message keeps to what the user can act on.
        ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            "the JSON body exceeds the configured limit (max_body_bytes, default 1 MiB)",
        )
    } else {
        ApiError::bad_request(e.body_text())
    }
}

fn check_json_type(req: &Request) -> Result<(), ApiError> {
    let Some(ct) = req.headers().get(CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::unsupported_media(format!(
            "expected application/json, got `{ct}`"
        )))
    }
}

/// Decodes `bytes`, naming the offending field on a type error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                let field = field_of(&path, &message);
                ApiError::field(field, message)
            }
            _ => ApiError::bad_request(format!("malformed JSON: {inner}")),
        }
    })?;
    Ok(value)
}

/// The field a decoding error is about. serde_path_to_error already ends the path with an
/// unknown field's name; a missing field is named only in the message, under its parent.
fn field_of(path: &str, message: &str) -> String {
    let path = clean_path(path);
    match message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        Some(name) if path.is_empty() => name.to_owned(),
        Some(name) => format!("{path}.{name}"),
        None => path,
    }
}

/// serde names an unknown field in backquotes.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn clean_path(path: &str) -> String {
    if path == "." {
        String::new()
    } else {
        path.to_owned()
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_json_type(&req)?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_error(&e))?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("a JSON body is required"));
        }
        decode(&bytes).map(Json)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_json_type(&req)?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_error(&e))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        decode(&bytes).map(OptionalJson)
    }
}

/// A query string, decoded strictly (unknown parameters are refused, like unknown fields).
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let path = clean_path(&e.path().to_string());
                let message = e.into_inner().to_string();
                let field = unknown_field(&message).map_or(path, str::to_owned);
                ApiError::field(field, message)
            })
    }
}

/// `{reason}`, the optional body of every lifecycle command.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why, for the audit log and notifications.
    pub reason: Option<String>,
}

/// The raw bytes of a JSON body (content type and size checked), for handlers that decode it
/// themselves.
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_json_type(&req)?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_error(&e))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("a JSON body is required"));
        }
        Ok(JsonBytes(bytes))
    }
}

/// Decodes an already-parsed JSON value strictly, naming the offending field.
pub fn decode_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = clean_path(&e.path().to_string());
        let message = e.into_inner().to_string();
        ApiError::field(field_of(&path, &message), message)
    })
}
