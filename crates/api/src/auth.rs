//! Bearer tokens and roles. The role a request needs follows from its method and path, in one
//! table (`required_role`), so no handler can forget to check it.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use sluice_store::Role;

use crate::error::ApiError;
use crate::state::AppState;

pub use sluice_commands::Caller;

pub fn hash_token(token: &str) -> String {
    sluice_commands::hash_secret(token)
}

pub fn new_secret() -> String {
    sluice_commands::new_secret()
}

fn required_role(method: &Method, path: &str) -> Role {
    let admin_area = [
        "/api/v1/channels",
        "/api/v1/tokens",
        "/api/v1/settings",
        "/api/v1/test/",
    ]
    .iter()
    .any(|p| path.starts_with(p));
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if reads {
        Role::Viewer
    } else if admin_area {
        Role::Admin
    } else {
        Role::Editor
    }
}

pub async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = req.uri().path().to_owned();
    if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
        return Ok(next.run(req).await);
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <token>`"))?;
    let caller = state
        .commands
        .authenticate(token)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
    let needed = required_role(req.method(), &path);
    if caller.role < needed {
        return Err(ApiError::forbidden(format!(
            "this needs the {} role; the token has {}",
            needed.as_str(),
            caller.role.as_str()
        )));
    }
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

/// The authenticate middleware put the caller in the request; handlers take it as an argument.
impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &AppState,
    ) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <token>`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_method_and_area() {
        assert_eq!(
            required_role(&Method::GET, "/api/v1/channels"),
            Role::Viewer
        );
        assert_eq!(
            required_role(&Method::POST, "/api/v1/channels"),
            Role::Admin
        );
        assert_eq!(
            required_role(&Method::POST, "/api/v1/campaigns"),
            Role::Editor
        );
        assert_eq!(required_role(&Method::PUT, "/api/v1/settings"), Role::Admin);
        assert_eq!(required_role(&Method::POST, "/api/v1/tokens"), Role::Admin);
        assert_eq!(
            required_role(&Method::DELETE, "/api/v1/profiles/x"),
            Role::Editor
        );
    }
}
