//! Typed failures of the CLI and the process exit code each one maps to.
//!
//! Exit codes are part of the CLI's contract, so scripts can branch on them:
//!
//! | code | meaning                                                                   |
//! |------|---------------------------------------------------------------------------|
//! | 0    | success                                                                   |
//! | 1    | any other error (server 5xx, I/O, a declined confirmation, …)            |
//! | 2    | usage error (bad flags or serve configuration, or a destructive action without `--yes` off a TTY) |
//! | 3    | not found (HTTP 404)                                                      |
//! | 4    | conflict / illegal lifecycle action (HTTP 409)                            |
//! | 5    | validation (HTTP 400/413/422, an apply file that does not validate, or an import with rejected lines) |
//! | 6    | authentication / authorization (HTTP 401/403)                             |
//! | 7    | cannot connect to the server                                              |

use std::fmt;

use serde::Deserialize;

/// The exit-code table shown at the end of `sluice --help`; keep it in step with the module doc.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok
  1  other error
  2  usage error (bad flags or configuration; a destructive action without --yes
     when stdin is not a terminal)
  3  not found (404)
  4  conflict / illegal lifecycle action (409)
  5  validation (400/413/422, an invalid apply file, rejected import lines)
  6  authentication or permission (401/403)
  7  cannot connect to the server";

/// Process exit codes; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Other = 1,
    Usage = 2,
    NotFound = 3,
    Conflict = 4,
    Validation = 5,
    Auth = 6,
    Connect = 7,
}

impl Code {
    /// The code for an HTTP error status; anything without its own code (5xx, 429, …) is 1.
    pub fn from_status(status: u16) -> Self {
        match status {
            404 => Self::NotFound,
            409 => Self::Conflict,
            400 | 413 | 422 => Self::Validation,
            401 | 403 => Self::Auth,
            _ => Self::Other,
        }
    }
}

/// One `{field, message}` entry of a 422 problem.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct FieldError {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub message: String,
}

/// An RFC 9457 problem the server answered with (or a synthesized one for non-JSON errors).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Problem {
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub errors: Vec<FieldError>,
    #[serde(default)]
    pub current_status: Option<String>,
    #[serde(default)]
    pub allowed_actions: Vec<String>,
}

/// A non-2xx answer from the server, with the request that caused it.
#[derive(Debug)]
pub struct ApiError {
    pub method: String,
    pub path: String,
    pub problem: Problem,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.problem;
        write!(f, "{} {} → {}", self.method, self.path, p.status)?;
        if let Some(title) = p.title.as_deref().filter(|t| !t.is_empty()) {
            write!(f, " {title}")?;
        }
        if let Some(detail) = p.detail.as_deref().filter(|d| !d.is_empty()) {
            write!(f, ": {detail}")?;
        }
        for e in &p.errors {
            write!(f, "\n  - {}: {}", e.field, e.message)?;
        }
        if let Some(current) = &p.current_status {
            write!(f, "\n  current status: {current}")?;
        }
        if !p.allowed_actions.is_empty() {
            write!(f, "\n  allowed actions: {}", p.allowed_actions.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The server could not be reached at all (refused, DNS, connect timeout).
#[derive(Debug)]
pub struct ConnectError {
    pub url: String,
    pub source: reqwest::Error,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot connect to {}: {}", self.url, self.source)?;
        // reqwest's own message is terse ("error sending request"); the cause says why.
        let mut cause = std::error::Error::source(&self.source);
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl std::error::Error for ConnectError {}

/// A failure detected by the CLI itself that still deserves a specific exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The exit code for an error: the first typed error in its chain decides, anything else is 1.
pub fn exit_code(err: &anyhow::Error) -> Code {
    for cause in err.chain() {
        if let Some(api) = cause.downcast_ref::<ApiError>() {
            return Code::from_status(api.problem.status);
        }
        if cause.downcast_ref::<ConnectError>().is_some() {
            return Code::Connect;
        }
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return failure.code;
        }
    }
    Code::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> anyhow::Error {
        ApiError {
            method: "POST".into(),
            path: "/x".into(),
            problem: Problem {
                status,
                ..Problem::default()
            },
        }
        .into()
    }

    #[test]
    fn statuses_map_to_documented_codes() {
        let cases = [
            (404, 3),
            (409, 4),
            (400, 5),
            (413, 5),
            (422, 5),
            (401, 6),
            (403, 6),
            (429, 1),
            (500, 1),
            (503, 1),
        ];
        for (status, code) in cases {
            assert_eq!(exit_code(&api(status)) as u8, code, "status {status}");
        }
    }

    #[test]
    fn context_does_not_hide_the_typed_error() {
        let err = api(409).context("activating campaign c1");
        assert_eq!(exit_code(&err), Code::Conflict);
        let err = anyhow::Error::new(Failure::new(Code::Usage, "need --yes")).context("stop");
        assert_eq!(exit_code(&err), Code::Usage);
    }

    #[test]
    fn untyped_errors_are_one() {
        assert_eq!(exit_code(&anyhow::anyhow!("disk full")), Code::Other);
    }

    #[test]
    fn problem_parses_lifecycle_and_field_details() {
        let p: Problem = serde_json::from_str(
            r#"{"type":"about:blank","title":"Conflict","status":409,"detail":"not recurring",
                "current_status":"live","allowed_actions":["abort","duplicate"],
                "errors":[{"field":"schedule","message":"bad"}]}"#,
        )
        .unwrap();
        let e = ApiError {
            method: "POST".into(),
            path: "/api/v1/campaigns/c1/modify".into(),
            problem: p,
        };
        let text = e.to_string();
        assert!(text.contains("409 Conflict: not recurring"), "{text}");
        assert!(text.contains("current status: live"));
        assert!(text.contains("allowed actions: abort, duplicate"));
        assert!(text.contains("- schedule: bad"));
    }
}
