//! `SessionStore`: the web UI's sign-in sessions, kept in the store so that signing out, expiry
//! and revoking a token hold on every node that shares the database. Only the SHA-256 of a
//! session's secret is stored, as for API tokens: a copy of the database signs nobody in.

use jiff::Timestamp;

use crate::{Role, StoreError};

/// A session to store when someone signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebSession {
    /// SHA-256 of the session's secret (the cookie's value), hex.
    pub hash: String,
    pub session: WebSession,
}

/// A signed-in session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// The API token it was signed in with; `None` for `SLUICE_ADMIN_TOKEN`.
    pub token_id: Option<String>,
    /// For a session signed in with `SLUICE_ADMIN_TOKEN`: the SHA-256 of that token, so that
    /// changing the variable ends the sessions made with the old one.
    pub env_token_hash: Option<String>,
    /// How the audit log names the caller.
    pub actor: String,
    pub role: Role,
    /// The token every form of this session carries (the double check against cross-site
    /// requests that SameSite cookies leave to browsers).
    pub csrf: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

pub trait SessionStore {
    fn insert_session(&self, session: &NewWebSession) -> Result<(), StoreError>;
    /// The session whose secret hashes to `hash`, if it is still good at `now`: not expired,
    /// not signed out, and its API token not revoked since.
    fn session_by_hash(&self, hash: &str, now: Timestamp)
    -> Result<Option<WebSession>, StoreError>;
    /// Signs a session out; `false` if there was none.
    fn delete_session(&self, hash: &str) -> Result<bool, StoreError>;
    /// Forgets the sessions that expired before `now`; returns how many.
    fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
}
