//! Why a command did not happen, in terms every front end can render: the JSON API as
//! problem+json, the web UI at the field or in a banner.

use sluice_core::{LifecycleError, Refused, ValidationErrors};
use sluice_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What the command names does not exist; the text names it ("no campaign `cmp_1`").
    #[error("{0}")]
    NotFound(String),
    /// The input is wrong, field by field; nothing changed.
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// The lifecycle does not allow the action in the current status.
    #[error("{0}")]
    Refused(Refused),
    /// The state forbids it for another reason than the lifecycle table (a draft in progress).
    #[error("{0}")]
    Conflict(String),
    /// The caller's role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// Storage failed; nothing the caller can fix (logged where it is rendered).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The work panicked or was cancelled at shutdown (already logged with its cause).
    #[error("{0}")]
    Failed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(ValidationErrors::single(field, message))
    }

    /// A store command's failure, naming what was not found.
    pub fn from_command(e: sluice_store::CommandError, what: &str) -> Self {
        match e {
            sluice_store::CommandError::NotFound => Self::NotFound(format!("no {what}")),
            sluice_store::CommandError::Lifecycle(l) => l.into(),
            sluice_store::CommandError::Store(s) => Self::Store(s),
        }
    }
}

impl From<LifecycleError> for Error {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::Refused(r) => Self::Refused(r),
            LifecycleError::Invalid(v) => Self::Invalid(v),
        }
    }
}

impl From<Refused> for Error {
    fn from(r: Refused) -> Self {
        Self::Refused(r)
    }
}

impl From<ValidationErrors> for Error {
    fn from(v: ValidationErrors) -> Self {
        Self::Invalid(v)
    }
}
