//! The domain core of Sluice: profiles, audiences, templates, schedules, channels, campaigns and
//! journeys, and the lifecycle rules that govern them. No I/O: the store and the API call in.

pub mod campaign;
pub mod channel;
pub mod clock;
pub mod duration;
pub mod error;
pub mod journey;
pub mod lifecycle;
pub mod notification;
pub mod profile;
pub mod rfc3339;
pub mod rule;
pub mod schedule;
pub mod template;

pub use error::{FieldError, ValidationErrors};
pub use lifecycle::{LifecycleError, Refused};
