//! Signing in and out; sessions that expire, are signed out, or lose their token; forms
//! without the right CSRF token change nothing.

use std::time::Duration;

use fantoccini::key::Key;
use sluice_web::WebConfig;

use crate::harness::{ADMIN, Ui};

/// A page asked for before signing in comes back after it; a bad token is reported at the
/// field, accessibly; the sign-in page passes axe.
#[tokio::test]
async fn sign_in_with_a_bad_then_a_good_token() {
    let Some(ui) = Ui::start().await else { return };
    ui.goto("/campaigns?status=live").await;
    assert_eq!(
        ui.path().await,
        "/sign-in?next=%2Fcampaigns%3Fstatus%3Dlive"
    );
    ui.assert_accessible("the sign-in page").await;
    ui.screenshots("sign-in").await;

    ui.submit_token("slc_not-a-token").await;
    assert_eq!(ui.path().await, "/sign-in");
    let field = ui.find("#token").await;
    assert_eq!(
        field.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        field.attr("aria-describedby").await.unwrap().as_deref(),
        Some("token-error")
    );
    assert!(
        ui.text("#token-error")
            .await
            .contains("no API token has this value"),
        "the error is at the field"
    );
    ui.assert_accessible("the sign-in page with an error").await;
    ui.screenshots("sign-in-error").await;

    ui.submit_token(ADMIN).await;
    assert_eq!(
        ui.path().await,
        "/campaigns?status=live",
        "back where it was going"
    );
    assert!(ui.text(".who").await.contains("admin"));
    ui.close().await;
}

/// Signing out ends the session on the server too: its cookie no longer opens a page.
#[tokio::test]
async fn sign_out_ends_the_session() {
    let Some(ui) = Ui::start().await else { return };
    ui.sign_in(ADMIN).await;
    let secret = ui.session_cookie().await;
    ui.find("form.sign-out button")
        .await
        .click()
        .await
        .expect("sign out");
    ui.find(".banner-info").await;
    assert_eq!(ui.path().await, "/sign-in?signed_out=1");
    ui.goto("/campaigns").await;
    assert_eq!(ui.path().await, "/sign-in?next=%2Fcampaigns");

    let r = ui
        .raw()
        .get(ui.url("/campaigns"))
        .header("cookie", format!("sluice_session={secret}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 303, "the old cookie is refused by the server");
    ui.close().await;
}

/// A session lasts its lifetime and no longer.
#[tokio::test]
async fn an_expired_session_goes_to_sign_in() {
    let Some(ui) = Ui::start_with(WebConfig {
        session_lifetime: Duration::from_secs(2),
        ..WebConfig::default()
    })
    .await
    else {
        return;
    };
    ui.sign_in(ADMIN).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ui.goto("/campaigns?q=x").await;
    assert_eq!(ui.path().await, "/sign-in?next=%2Fcampaigns%3Fq%3Dx");
    ui.close().await;
}

/// A revoked token's sessions stop working at the next request.
#[tokio::test]
async fn a_revoked_tokens_session_stops_working() {
    let Some(ui) = Ui::start().await else { return };
    let (id, secret) = ui.token("editor").await;
    ui.sign_in(&secret).await;
    assert_eq!(ui.text(".role").await.to_lowercase(), "editor");
    assert!(ui.store.revoke_token(&id).expect("revoke"));
    ui.goto("/campaigns").await;
    assert_eq!(ui.path().await, "/sign-in?next=%2Fcampaigns");
    ui.submit_token(&secret).await;
    assert!(
        ui.text("#token-error").await.contains("revoked"),
        "the token itself is refused too"
    );
    ui.close().await;
}

/// A POST without the session's CSRF token, or with a wrong one, is refused and changes
/// nothing (the session that tried to sign out is still signed in); so is a sign-in without
/// its form's token.
#[tokio::test]
async fn posts_without_the_csrf_token_change_nothing() {
    let Some(ui) = Ui::start().await else { return };
    ui.sign_in(ADMIN).await;
    let secret = ui.session_cookie().await;
    let raw = ui.raw();
    let cookie = format!("sluice_session={secret}");
    for body in ["", "csrf=0123456789abcdef"] {
        let r = raw
            .post(ui.url("/sign-out"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status(), 403, "sign-out with body {body:?}");
    }
    // In the browser, with the hidden field tampered with: the refusal page, still signed in.
    ui.browser
        .execute(
            "document.querySelector('form.sign-out input[name=csrf]').value = 'forged'",
            vec![],
        )
        .await
        .expect("tamper");
    ui.find("form.sign-out button")
        .await
        .click()
        .await
        .expect("click");
    assert_eq!(ui.text("main h1").await, "Form refused");
    ui.assert_accessible("the form-refused page").await;
    ui.goto("/campaigns").await;
    assert_eq!(ui.path().await, "/campaigns", "still signed in");

    let r = raw
        .post(ui.url("/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN}&csrf=abc"))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 403, "a sign-in from another site's form");
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no session was made"
    );
    ui.close().await;
}

/// Keyboard: the first Tab reaches the skip link, the next ones the nav, each with a visible
/// focus ring; unknown pages answer the 404 page in the layout.
#[tokio::test]
async fn keyboard_reaches_the_nav_with_a_visible_focus() {
    let Some(ui) = Ui::start().await else { return };
    ui.sign_in(ADMIN).await;
    let body = ui.find("body").await;
    body.send_keys(&Key::Tab.to_string()).await.expect("Tab");
    let focused = ui.browser.active_element().await.expect("focus");
    assert_eq!(focused.text().await.unwrap(), "Skip to content");
    let mut reached = None;
    for _ in 0..4 {
        let active = ui.browser.active_element().await.expect("focus");
        active.send_keys(&Key::Tab.to_string()).await.expect("Tab");
        let now = ui.browser.active_element().await.expect("focus");
        if now.text().await.unwrap() == "Campaigns" {
            reached = Some(now);
            break;
        }
    }
    let link = reached.expect("Tab reaches the nav's Campaigns link");
    assert_eq!(
        link.attr("aria-current").await.unwrap().as_deref(),
        Some("page")
    );
    let style = link.css_value("outline-style").await.unwrap();
    let width = link.css_value("outline-width").await.unwrap();
    assert_ne!(style, "none", "a focus ring is drawn");
    let px: f64 = width.trim_end_matches("px").parse().unwrap_or(0.0);
    assert!(px >= 2.0, "the focus ring is {width} wide");

    ui.goto("/no/such/page").await;
    assert_eq!(ui.text("main h1").await, "Not found");
    assert_eq!(
        ui.count("nav.site-nav a").await,
        7,
        "in the signed-in layout"
    );
    ui.assert_accessible("the 404 page").await;
    ui.screenshots("not-found").await;
    ui.close().await;
}
