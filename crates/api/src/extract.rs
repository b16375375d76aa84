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
        let path = e.path().clone();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                let root = serde_json::from_slice::<serde_json::Value>(bytes).ok();
                ApiError::field(refine(root.as_ref(), &path, &message), message)
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
        // An empty body and a JSON `null` both mean "nothing to say".
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
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
    let root = value.clone();
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().clone();
        let message = e.into_inner().to_string();
        ApiError::field(refine(Some(&root), &path, &message), message)
    })
}

/// The exact field an error is about. Inside internally tagged enums (a schedule, a journey
/// node) serde loses the path at the tagged object, so the field is found again from the
/// message: an unknown or missing field is named in it, a bad value is quoted in it.
fn refine(
    root: Option<&serde_json::Value>,
    path: &serde_path_to_error::Path,
    message: &str,
) -> String {
    let base = field_of(&path.to_string(), message);
    if message.starts_with("missing field") {
        return base;
    }
    let mut at = root;
    for segment in path.iter() {
        at = match segment {
            serde_path_to_error::Segment::Seq { index } => at.and_then(|v| v.get(*index)),
            serde_path_to_error::Segment::Map { key } => at.and_then(|v| v.get(key)),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => at,
        };
    }
    let Some(object) = at.and_then(serde_json::Value::as_object) else {
        return base;
    };
    let quoted = sluice_core::error::quoted(message);
    let culprit = unknown_field(message)
        .filter(|name| object.contains_key(*name))
        .or_else(|| {
            object
                .iter()
                .filter(|(key, _)| key.as_str() != "type")
                .find(|(_, value)| {
                    let shown = match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    quoted.contains(&shown.as_str())
                })
                .map(|(key, _)| key.as_str())
        });
    match culprit {
        Some(key) if base.is_empty() => key.to_owned(),
        Some(key) if !base.ends_with(&format!(".{key}")) && base != key => format!("{base}.{key}"),
        _ => base,
    }
}

/// Path parameters; one that cannot be what the route needs (a version that is not a number)
/// names nothing that exists, so it is a 404 problem like any unknown id.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::not_found(format!(
                "nothing at {}: {}",
                parts.uri.path(),
                rejection.body_text()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        schedule: sluice_core::schedule::Schedule,
    }

    fn field(body: &str) -> String {
        match decode::<Body>(body.as_bytes()) {
            Err(e) => e.0.errors[0].field.clone(),
            Ok(b) => panic!("decoded {b:?}"),
        }
    }

    #[test]
    fn fields_inside_tagged_objects_are_named() {
        assert_eq!(
            field(r#"{"name":"x","schedule":{"type":"once","at":"tomorrow"}}"#),
            "schedule.at"
        );
        assert_eq!(
            field(r#"{"name":"x","schedule":{"type":"recurring","cron":5,"timezone":"UTC"}}"#),
            "schedule.cron"
        );
        assert_eq!(
            field(r#"{"name":"x","schedule":{"type":"immediate","at":"2026-03-01T00:00:00Z"}}"#),
            "schedule.at"
        );
        assert_eq!(field(r#"{"nmae":"x"}"#), "nmae");
        assert_eq!(field(r#"{"schedule":{"type":"api"}}"#), "name");
    }
}
