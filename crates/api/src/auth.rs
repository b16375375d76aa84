//! Bearer tokens and roles. The role a request needs follows from its method and path, in one
//! table (`required_role`), so no handler can forget to check it.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use sluice_store::Role;

use crate::error::ApiError;
use crate::state::AppState;

/// Who is calling, for the audit log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: String,
    pub role: Role,
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new secret: 32 random bytes, hex, with a prefix that makes leaked tokens easy to grep for.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("slc_{}", hex::encode(bytes))
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
    let hash = hash_token(token);
    let caller = if state.env_admin_hash.as_deref() == Some(hash.as_str()) {
        Caller {
            actor: "admin (SLUICE_ADMIN_TOKEN)".into(),
            role: Role::Admin,
        }
    } else {
        let found = state.db(move |s| Ok(s.token_by_hash(&hash)?)).await?;
        let token = found.ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        Caller {
            actor: format!("{} ({})", token.name, token.id),
            role: token.role,
        }
    };
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

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
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
