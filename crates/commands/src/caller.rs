//! Who is calling and what their role lets them do. Every front end (bearer token on the API,
//! session cookie in the web UI) resolves a secret to a [`Caller`] here, and every command asks
//! [`Caller::require`] for the permission it needs, so a role means the same everywhere.

use sha2::{Digest, Sha256};
use sluice_store::Role;

use crate::error::{Error, Result};

/// Who is calling, for the audit log, and with which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// How the audit log names the caller: "<token name> (<token id>)".
    pub actor: String,
    pub role: Role,
    /// The API token the caller signed in with; `None` for `SLUICE_ADMIN_TOKEN`.
    pub token_id: Option<String>,
}

/// What a command needs; each role holds the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read anything but secrets.
    Read,
    /// Create and change audiences, templates, campaigns and journeys; run their lifecycle.
    Edit,
    /// Channels, tokens and settings.
    Administer,
}

impl Permission {
    pub fn role(self) -> Role {
        match self {
            Self::Read => Role::Viewer,
            Self::Edit => Role::Editor,
            Self::Administer => Role::Admin,
        }
    }
}

impl Caller {
    pub fn may(&self, permission: Permission) -> bool {
        self.role >= permission.role()
    }

    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "this needs the {} role; the token has {}",
                permission.role().as_str(),
                self.role.as_str()
            )))
        }
    }
}

/// SHA-256 of a secret, hex: what the store keeps instead of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new secret: 32 random bytes, hex, with a prefix that makes leaked tokens easy to grep for.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("slc_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role) -> Caller {
        Caller {
            actor: "t".into(),
            role,
            token_id: None,
        }
    }

    #[test]
    fn each_role_holds_the_permissions_below_it() {
        let viewer = caller(Role::Viewer);
        assert!(viewer.may(Permission::Read));
        assert!(!viewer.may(Permission::Edit));
        let editor = caller(Role::Editor);
        assert!(editor.may(Permission::Edit));
        assert!(!editor.may(Permission::Administer));
        assert!(caller(Role::Admin).may(Permission::Administer));
        assert!(matches!(
            viewer.require(Permission::Edit),
            Err(Error::Forbidden(_))
        ));
    }
}
