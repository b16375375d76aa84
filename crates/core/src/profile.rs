//! Profiles (people, keyed by the user's external id) and the events they cause.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::ValidationErrors;

pub type Attributes = serde_json::Map<String, serde_json::Value>;
/// Per-channel consent (`{"email": false}`); a missing channel means no objection.
pub type Consent = std::collections::BTreeMap<String, bool>;

pub const MAX_ID_LEN: usize = 256;
pub const MAX_EVENT_NAME_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Profile {
    pub id: String,
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    pub consent: Consent,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

impl Profile {
    /// `consent.email == false` means never email them; anything else allows it.
    pub fn allows(&self, channel: crate::channel::ChannelType) -> bool {
        self.consent.get(channel.as_str()).copied().unwrap_or(true)
    }

    /// The view templates render: `profile.id` and every attribute at the top level.
    pub fn template_view(&self) -> serde_json::Value {
        let mut view = self.attributes.clone();
        view.insert("id".into(), serde_json::Value::String(self.id.clone()));
        serde_json::Value::Object(view)
    }
}

/// External ids come from the user's systems; they must be usable in a URL path segment.
pub fn validate_id(field: &str, id: &str) -> Result<(), ValidationErrors> {
    if id.is_empty() {
        return Err(ValidationErrors::single(field, "must not be empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(ValidationErrors::single(
            field,
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    if id.chars().any(|c| c.is_control() || c == '/') {
        return Err(ValidationErrors::single(
            field,
            "must not contain `/` or control characters",
        ));
    }
    Ok(())
}

/// One thing a profile did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub profile_id: String,
    pub name: String,
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub timestamp: Timestamp,
}

impl Event {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if let Err(e) = validate_id("profile_id", &self.profile_id) {
            errors.0.extend(e.0);
        }
        if self.name.is_empty() || self.name.len() > MAX_EVENT_NAME_LEN {
            errors.push("name", format!("must be 1 to {MAX_EVENT_NAME_LEN} bytes"));
        }
        errors.into_result()
    }
}

/// A CSV cell becomes a number or boolean when it reads as one, so rules like `age gt 30`
/// compare numerically; an empty cell sets nothing.
pub fn infer_csv_value(cell: &str) -> Option<serde_json::Value> {
    if cell.is_empty() {
        return None;
    }
    if let Ok(i) = cell.parse::<i64>() {
        return Some(i.into());
    }
    if let Ok(f) = cell.parse::<f64>()
        && f.is_finite()
        && cell
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return Some(serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into));
    }
    match cell {
        "true" => Some(true.into()),
        "false" => Some(false.into()),
        _ => Some(cell.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_typed() {
        assert_eq!(infer_csv_value("42"), Some(42.into()));
        assert_eq!(infer_csv_value("4.5"), Some(serde_json::json!(4.5)));
        assert_eq!(infer_csv_value("true"), Some(true.into()));
        assert_eq!(infer_csv_value("Ann"), Some("Ann".into()));
        assert_eq!(infer_csv_value("inf"), Some("inf".into()));
        assert_eq!(infer_csv_value(""), None);
    }

    #[test]
    fn ids_are_checked() {
        assert!(validate_id("id", "p-1@x.com").is_ok());
        assert!(validate_id("id", "").is_err());
        assert!(validate_id("id", "a/b").is_err());
        assert!(validate_id("id", &"x".repeat(300)).is_err());
    }
}
