//! Who is signed in, and proof that a form came from our own page.
//!
//! A page that needs a signed-in caller takes [`Signed`]: without a good session a GET is
//! redirected to `/sign-in?next=<the page>` and anything else to `/sign-in`. `signed.may(..)`
//! tells a template which actions to show, so a viewer sees no action it cannot take (the
//! command checks the role again, whatever the page showed).
//!
//! A form that changes anything carries the session's CSRF token and is read with
//! [`CsrfForm`]:
//!
//! ```ignore
//! // template: <form method="post" action="/campaigns/{{ id }}/abort">
//! //             <input type="hidden" name="csrf" value="{{ layout.csrf }}"> …
//! async fn abort(CsrfForm(signed, form): CsrfForm<AbortForm>) -> Result<Response, PageError> {
//!     signed.commands().abort(&signed.caller, …).await.map_err(|e| signed.fail(e))?;
//!     Ok(Redirect::to(…).into_response())          // POST, then redirect, then GET
//! }
//! ```
//!
//! A POST whose token is missing or wrong is answered 403 and reaches no handler, so it
//! changes nothing. The session cookie is also `SameSite=Strict`; the token holds where a
//! browser does not honour that.

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use sluice_commands::{Caller, Commands, Permission, Session};

use crate::page::{Layout, PageError};
use crate::{SecureCookies, Web, WebConfig};

/// The session cookie: the session's secret; the store keeps only its SHA-256.
pub const SESSION_COOKIE: &str = "sluice_session";
/// Before signing in there is no session to hold a CSRF token: the sign-in form's token is
/// also set in this short-lived cookie, and the two must match (a double submit).
pub const SIGN_IN_COOKIE: &str = "sluice_sign_in";
/// The hidden field every form carries.
pub const CSRF_FIELD: &str = "csrf";
/// Sent by the live refresher: an expired session answers 401 rather than a redirect, and
/// the script reloads the page (which then goes to sign-in).
pub const LIVE_HEADER: &str = "x-sluice-live";

/// A signed-in caller, for a page.
#[derive(Clone)]
pub struct Signed {
    pub session: Session,
    pub caller: Caller,
    web: Web,
}

impl Signed {
    pub fn commands(&self) -> &Commands {
        self.web.commands()
    }

    /// Whether the caller's role allows `permission`: what a page asks before it shows an
    /// action.
    pub fn may(&self, permission: Permission) -> bool {
        self.caller.may(permission)
    }

    /// The layout of a page for this caller, `current` naming the nav entry it belongs to.
    pub async fn layout(&self, title: impl Into<String>, current: &'static str) -> Layout {
        Layout::signed(self, title.into(), current).await
    }

    /// A failed command as the page that says why, in the caller's layout.
    pub async fn fail(&self, e: sluice_commands::Error) -> PageError {
        PageError::from_command(e).in_layout(self.layout("Error", "").await)
    }
}

impl FromRequestParts<Web> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Response> {
        match lookup(parts, web).await? {
            Some(signed) => Ok(signed),
            None => Err(to_sign_in(parts)),
        }
    }
}

/// `Option<Signed>`: pages that anyone may see, and show more to a signed-in caller.
impl OptionalFromRequestParts<Web> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Option<Self>, Response> {
        lookup(parts, web).await
    }
}

async fn lookup(parts: &Parts, web: &Web) -> Result<Option<Signed>, Response> {
    let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let session = web
        .commands()
        .session(secret)
        .await
        .map_err(|e| PageError::from_command(e).into_response())?;
    Ok(session.map(|session| Signed {
        caller: session.caller.clone(),
        session,
        web: web.clone(),
    }))
}

/// Where an unsigned request goes: a GET comes back to where it was after signing in.
fn to_sign_in(parts: &Parts) -> Response {
    if parts.headers.contains_key(LIVE_HEADER) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let target = match (&parts.method, parts.uri.path_and_query()) {
        (&Method::GET, Some(pq)) if safe_next(pq.as_str()).is_some() => {
            let next: String = form_urlencoded::byte_serialize(pq.as_str().as_bytes()).collect();
            format!("/sign-in?next={next}")
        }
        _ => "/sign-in".to_owned(),
    };
    Redirect::to(&target).into_response()
}

/// A form posted by a signed-in caller from one of our pages: the session, then the fields
/// (`T` ignores the `csrf` field, as serde ignores unknown fields unless told otherwise).
pub struct CsrfForm<T>(pub Signed, pub T);

impl<T: DeserializeOwned> FromRequest<Web> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let signed = <Signed as FromRequestParts<Web>>::from_request_parts(&mut parts, web).await?;
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), web)
            .await
            .map_err(IntoResponse::into_response)?;
        if !token_matches(field(&bytes, CSRF_FIELD).as_deref(), &signed.session.csrf) {
            return Err(csrf_refused(Some(signed.layout("Form refused", "").await)));
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                format!("{e}. Nothing was changed."),
            )
            .into_response()
        })?;
        Ok(CsrfForm(signed, form))
    }
}

/// The answer to a POST whose CSRF token is missing or wrong.
pub fn csrf_refused(layout: Option<Layout>) -> Response {
    let error = PageError::new(
        StatusCode::FORBIDDEN,
        "Form refused",
        "This form is out of date or did not come from a Sluice page, so nothing was changed. \
         Go back, reload the page and try again.",
    );
    match layout {
        Some(layout) => error.in_layout(layout).into_response(),
        None => error.into_response(),
    }
}

/// One field of a urlencoded body.
pub fn field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Compares in time that does not depend on where the strings differ.
pub fn token_matches(given: Option<&str>, expected: &str) -> bool {
    let Some(given) = given else { return false };
    if given.len() != expected.len() || expected.is_empty() {
        return false;
    }
    given
        .bytes()
        .zip(expected.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly (no script reads it), SameSite=Strict (no other site's
/// page sends it), Path=/, Secure as configured; `max_age` 0 deletes it.
pub fn set_cookie(
    config: &WebConfig,
    request: &HeaderMap,
    name: &str,
    value: &str,
    max_age_secs: u64,
) -> HeaderValue {
    let secure = match config.secure_cookies {
        SecureCookies::Always => true,
        SecureCookies::Never => false,
        SecureCookies::Auto => request
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")),
    };
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie names and values are hex and ASCII")
}

/// `next` if it is a path on this site: it starts with one `/` and holds nothing a browser
/// could read as another host (`//host`, `/\host`) or as a control character. Anything else
/// is ignored, so `/sign-in?next=` can never send someone to another site.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && !next.starts_with("/sign-in")
        && !next.starts_with("/sign-out");
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next("/campaigns?status=live"),
            Some("/campaigns?status=live")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "\\\\evil.example",
            "evil",
            "",
            "/\ncampaigns",
            "/sign-in?next=/x",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tokens_match_only_exactly() {
        assert!(token_matches(Some("abc"), "abc"));
        assert!(!token_matches(Some("abd"), "abc"));
        assert!(!token_matches(Some("ab"), "abc"));
        assert!(!token_matches(None, "abc"));
        assert!(!token_matches(Some(""), ""));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; sluice_session=xyz; b="),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn secure_follows_the_setting_and_the_proxy() {
        let mut https = HeaderMap::new();
        https.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let plain = HeaderMap::new();
        let auto = WebConfig::default();
        let secure = |c: &WebConfig, h: &HeaderMap| {
            set_cookie(c, h, "n", "v", 1)
                .to_str()
                .unwrap()
                .contains("; Secure")
        };
        assert!(secure(&auto, &https));
        assert!(!secure(&auto, &plain));
        let always = WebConfig {
            secure_cookies: SecureCookies::Always,
            ..WebConfig::default()
        };
        assert!(secure(&always, &plain));
        let never = WebConfig {
            secure_cookies: SecureCookies::Never,
            ..WebConfig::default()
        };
        assert!(!secure(&never, &https));
        let v = set_cookie(&auto, &plain, "n", "v", 60);
        assert_eq!(
            v.to_str().unwrap(),
            "n=v; HttpOnly; SameSite=Strict; Path=/; Max-Age=60"
        );
    }
}
