//! Signing in to the web UI with an API token: `sign_in` checks the token and stores a
//! session (only the SHA-256 of its secret), `session` resolves a session's secret to its
//! caller while it is good, `sign_out` ends it. Sessions live in real time (a test clock
//! neither signs anyone out nor keeps them in); a revoked token or a changed
//! `SLUICE_ADMIN_TOKEN` ends the sessions signed in with it.

use std::time::Duration;

use jiff::Timestamp;
use sluice_store::{NewWebSession, WebSession};

use crate::Commands;
use crate::caller::{Caller, hash_secret};
use crate::error::{Error, Result};

/// The form field a bad token is reported at.
pub const TOKEN_FIELD: &str = "token";

/// A good session: who is calling, and the token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub caller: Caller,
    /// Every form of the session carries it; a POST without it changes nothing.
    pub csrf: String,
    pub expires_at: Timestamp,
}

/// A new session and the secret that names it (the cookie's value, shown to nobody else).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub secret: String,
    pub session: Session,
}

impl Commands {
    /// Signs in with an API token's secret for `lifetime`. An unknown or revoked token is
    /// `Invalid` at [`TOKEN_FIELD`]; nothing is stored then.
    pub async fn sign_in(&self, token_secret: &str, lifetime: Duration) -> Result<SignedIn> {
        let token_secret = token_secret.trim();
        if token_secret.is_empty() {
            return Err(Error::field(TOKEN_FIELD, "enter an API token"));
        }
        let Some(caller) = self.authenticate(token_secret).await? else {
            return Err(Error::field(
                TOKEN_FIELD,
                "no API token has this value (it may have been revoked)",
            ));
        };
        let now = Timestamp::now();
        let expires_at = now
            .checked_add(
                jiff::SignedDuration::try_from(lifetime).unwrap_or(jiff::SignedDuration::MAX),
            )
            .unwrap_or(Timestamp::MAX);
        let secret = crate::new_secret();
        let session = WebSession {
            env_token_hash: caller.token_id.is_none().then(|| hash_secret(token_secret)),
            token_id: caller.token_id.clone(),
            actor: caller.actor.clone(),
            role: caller.role,
            csrf: hex::encode(rand::random::<[u8; 32]>()),
            created_at: now,
            expires_at,
        };
        let new = NewWebSession {
            hash: hash_secret(&secret),
            session: session.clone(),
        };
        self.db(move |s| {
            // Sign-in is rare, so it is where the expired sessions of everybody are forgotten.
            s.delete_expired_sessions(now)?;
            Ok(s.insert_session(&new)?)
        })
        .await?;
        Ok(SignedIn {
            secret,
            session: Session {
                caller,
                csrf: session.csrf,
                expires_at,
            },
        })
    }

    /// The session a secret names, while it is good; `None` when it is unknown, expired,
    /// signed out, or its token was revoked.
    pub async fn session(&self, secret: &str) -> Result<Option<Session>> {
        let hash = hash_secret(secret);
        let now = Timestamp::now();
        let found = self.db(move |s| Ok(s.session_by_hash(&hash, now)?)).await?;
        let Some(stored) = found else {
            return Ok(None);
        };
        if stored.token_id.is_none() && stored.env_token_hash != self.env_admin_hash {
            // Signed in with a SLUICE_ADMIN_TOKEN that is no longer the one set.
            return Ok(None);
        }
        Ok(Some(Session {
            caller: Caller {
                actor: stored.actor,
                role: stored.role,
                token_id: stored.token_id,
            },
            csrf: stored.csrf,
            expires_at: stored.expires_at,
        }))
    }

    /// Ends the session a secret names (nothing happens for one that is already gone).
    pub async fn sign_out(&self, secret: &str) -> Result<()> {
        let hash = hash_secret(secret);
        self.db(move |s| Ok(s.delete_session(&hash)?)).await?;
        Ok(())
    }
}
