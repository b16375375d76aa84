//! Signing in with an API token and signing out. `GET /sign-in` shows the form (or sends a
//! caller who is already signed in on), `POST /sign-in` checks the token and starts a
//! session, `POST /sign-out` ends it. After signing in the caller goes back to the page that
//! sent them here (`next`), if that is a page of this site.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sluice_commands::{Error, TOKEN_FIELD};

use crate::Web;
use crate::page::{FieldErrors, Layout, PageError, render};
use crate::session::{
    CsrfForm, SESSION_COOKIE, SIGN_IN_COOKIE, Signed, cookie, csrf_refused, safe_next, set_cookie,
    token_matches,
};

/// How long the sign-in form may stay open before it must be reloaded.
const SIGN_IN_FORM_SECS: u64 = 3600;
const LANDING: &str = "/campaigns";

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/sign-in", get(form).post(sign_in))
        .route("/sign-out", post(sign_out))
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    csrf: String,
    next: String,
    notice: Option<&'static str>,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct FormQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

async fn form(
    State(web): State<Web>,
    signed: Option<Signed>,
    headers: HeaderMap,
    Query(query): Query<FormQuery>,
) -> Response {
    let next = query.next.as_deref().and_then(safe_next).unwrap_or(LANDING);
    if signed.is_some() {
        return Redirect::to(next).into_response();
    }
    let notice = query.signed_out.is_some().then_some("You have signed out.");
    page(
        &web,
        &headers,
        StatusCode::OK,
        next,
        notice,
        FieldErrors::default(),
    )
}

/// The form, with a fresh token in both the form and its cookie.
fn page(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    notice: Option<&'static str>,
    errors: FieldErrors,
) -> Response {
    let csrf = hex::encode(rand::random::<[u8; 32]>());
    let mut response = render(
        status,
        &SignInPage {
            layout: Layout::bare("Sign in"),
            csrf: csrf.clone(),
            next: next.to_owned(),
            notice,
            errors,
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            web.config(),
            headers,
            SIGN_IN_COOKIE,
            &csrf,
            SIGN_IN_FORM_SECS,
        ),
    );
    response
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

async fn sign_in(
    State(web): State<Web>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SignInForm>,
) -> Response {
    // Login CSRF: another site must not sign a visitor in with the attacker's token.
    if !token_matches(
        Some(form.csrf.as_str()),
        cookie(&headers, SIGN_IN_COOKIE).unwrap_or(""),
    ) {
        return csrf_refused(None);
    }
    let next = safe_next(&form.next).unwrap_or(LANDING);
    let lifetime = web.config().session_lifetime;
    match web.commands().sign_in(&form.token, lifetime).await {
        Ok(signed) => {
            let mut response = Redirect::to(next).into_response();
            let cookies = response.headers_mut();
            cookies.append(
                header::SET_COOKIE,
                set_cookie(
                    web.config(),
                    &headers,
                    SESSION_COOKIE,
                    &signed.secret,
                    lifetime.as_secs(),
                ),
            );
            cookies.append(
                header::SET_COOKIE,
                set_cookie(web.config(), &headers, SIGN_IN_COOKIE, "", 0),
            );
            response
        }
        Err(Error::Invalid(v)) => page(
            &web,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            next,
            None,
            FieldErrors::new(&v, &[TOKEN_FIELD]),
        ),
        Err(e) => PageError::from_command(e).into_response(),
    }
}

#[derive(Deserialize)]
struct NoFields {}

async fn sign_out(
    State(web): State<Web>,
    headers: HeaderMap,
    CsrfForm(signed, NoFields {}): CsrfForm<NoFields>,
) -> Response {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = signed.commands().sign_out(secret).await
    {
        return signed.fail(e).await.into_response();
    }
    let mut response = Redirect::to("/sign-in?signed_out=1").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(web.config(), &headers, SESSION_COOKIE, "", 0),
    );
    response
}
