//! What a refused lifecycle action reports: the status it met and what that status allows.

use std::fmt;

/// An action that the current status does not allow (answered as 409 by the API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{action}` is not allowed while {subject} is {current_status}{}", reason_suffix(.reason))]
pub struct Refused {
    pub subject: &'static str,
    pub action: String,
    pub current_status: String,
    pub allowed_actions: Vec<String>,
    /// Why, when the status alone does not explain it (a one-time campaign cannot be modified).
    pub reason: Option<String>,
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason
        .as_ref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}

/// Status enums print as their API names.
pub fn names<T: fmt::Display>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

/// Why a command on a campaign or journey changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Invalid(#[from] crate::error::ValidationErrors),
}
