//! The campaigns list: fixtures made through the JSON API appear with their channel,
//! audience size, schedule and the draft-in-progress flag; status tabs and search filter it;
//! it refreshes itself without a reload; a viewer sees it without actions.

use serde_json::{Value, json};

use crate::harness::{ADMIN, Ui, id};

/// Three campaigns: a draft, a scheduled recurring one with draft v2 in progress, and a live
/// API-triggered one. Returns the recurring one's id.
async fn fixtures(ui: &Ui) -> String {
    let (channel, template, audience) = ui.setup().await;
    for n in 0..3 {
        ui.api(
            reqwest::Method::PUT,
            &format!("/api/v1/profiles/p{n}"),
            Some(json!({"attributes": {"first_name": format!("P{n}")}})),
        )
        .await;
    }
    let body = |name: &str, schedule: Value| {
        json!({"name": name, "channel_id": channel, "template_id": template,
               "audience_id": audience, "schedule": schedule})
    };
    ui.post(
        "/api/v1/campaigns",
        body("Spring sale", json!({"type": "immediate"})),
    )
    .await;
    let digest = id(&ui
        .post(
            "/api/v1/campaigns",
            body(
                "Weekly digest",
                json!({"type": "recurring", "cron": "0 9 * * MON", "timezone": "Europe/Berlin"}),
            ),
        )
        .await);
    ui.post(&format!("/api/v1/campaigns/{digest}/activate"), json!({}))
        .await;
    ui.post(&format!("/api/v1/campaigns/{digest}/modify"), json!({}))
        .await;
    let receipt = id(&ui
        .post(
            "/api/v1/campaigns",
            body("Order receipt", json!({"type": "api"})),
        )
        .await);
    ui.post(&format!("/api/v1/campaigns/{receipt}/activate"), json!({}))
        .await;
    digest
}

async fn names(ui: &Ui) -> Vec<String> {
    let mut names = Vec::new();
    for cell in ui
        .browser
        .find_all(fantoccini::Locator::Css("table.campaigns tbody th.name"))
        .await
        .expect("rows")
    {
        names.push(cell.text().await.expect("name"));
    }
    names
}

#[tokio::test]
async fn the_list_shows_filters_and_searches_campaigns() {
    let Some(ui) = Ui::start().await else { return };
    let digest = fixtures(&ui).await;
    ui.sign_in(ADMIN).await;
    assert_eq!(
        names(&ui).await,
        ["Spring sale", "Weekly digest", "Order receipt"]
    );
    let row = ui.text("table.campaigns tbody tr:nth-child(2)").await;
    for part in [
        "Scheduled",
        "Recurring: 0 9 * * MON (Europe/Berlin)",
        "Partner webhook",
        "3",
        "Everybody",
    ] {
        assert!(row.contains(part), "{part:?} in {row:?}");
    }
    let flag = ui
        .find("table.campaigns tbody tr:nth-child(2) a.draft-flag")
        .await;
    assert_eq!(
        flag.attr("aria-label").await.unwrap().as_deref(),
        Some("Draft v2 in progress")
    );
    assert_eq!(
        flag.attr("href").await.unwrap().as_deref(),
        Some(format!("/campaigns/{digest}/versions/2").as_str())
    );
    assert_eq!(
        ui.count("a.draft-flag").await,
        1,
        "only a live campaign with a draft"
    );
    // Times are shown in the viewer's zone by the script; the UTC text stays as the title.
    let time = ui
        .find("table.campaigns tbody tr:first-child td time")
        .await;
    assert!(
        time.attr("title")
            .await
            .unwrap()
            .is_some_and(|t| t.ends_with("UTC"))
    );
    assert!(!time.text().await.unwrap().ends_with("UTC"));
    // An editor's rows have an actions cell, shown on hover and focus.
    assert_eq!(ui.count("table.campaigns tbody td.row-actions").await, 3);
    ui.assert_accessible("the campaigns list").await;
    ui.screenshots("campaigns").await;

    ui.find("nav.tabs a[href='/campaigns?status=draft']")
        .await
        .click()
        .await
        .expect("Draft tab");
    ui.eventually(5, "the draft filter", || async {
        ui.path().await == "/campaigns?status=draft"
    })
    .await;
    assert_eq!(names(&ui).await, ["Spring sale"]);
    assert_eq!(
        ui.find("nav.tabs a[aria-current=page]")
            .await
            .text()
            .await
            .unwrap(),
        "Draft"
    );

    ui.goto("/campaigns").await;
    let search = ui.find("#campaign-search").await;
    search.send_keys("DIGEST\n").await.expect("search");
    ui.eventually(5, "the search", || async {
        ui.path().await == "/campaigns?q=DIGEST"
    })
    .await;
    assert_eq!(names(&ui).await, ["Weekly digest"]);
    ui.goto("/campaigns?q=nothing-like-it").await;
    assert!(ui.text("p.empty").await.contains("No campaign matches"));
    ui.close().await;
}

/// A campaign made elsewhere appears in an open list within a few seconds, without a reload.
#[tokio::test]
async fn the_list_refreshes_itself() {
    let Some(ui) = Ui::start().await else { return };
    let (channel, template, audience) = ui.setup().await;
    ui.sign_in(ADMIN).await;
    assert!(names(&ui).await.is_empty());
    ui.browser
        .execute("window.sluiceNotReloaded = true", vec![])
        .await
        .expect("mark the page");
    ui.post(
        "/api/v1/campaigns",
        json!({"name": "Flash sale", "channel_id": channel, "template_id": template,
               "audience_id": audience, "schedule": {"type": "immediate"}}),
    )
    .await;
    ui.eventually(8, "the new campaign in the list", || async {
        names(&ui).await == ["Flash sale"]
    })
    .await;
    let same_page = ui
        .browser
        .execute("return window.sluiceNotReloaded === true", vec![])
        .await
        .expect("read the mark");
    assert_eq!(same_page, Value::Bool(true), "no page reload");
    ui.close().await;
}

/// A viewer sees every campaign and no action: no actions column, its role in the header.
#[tokio::test]
async fn a_viewer_sees_the_list_without_actions() {
    let Some(ui) = Ui::start().await else { return };
    fixtures(&ui).await;
    let (_, viewer) = ui.token("viewer").await;
    ui.sign_in(&viewer).await;
    assert_eq!(names(&ui).await.len(), 3);
    assert_eq!(ui.text(".role").await.to_lowercase(), "viewer");
    assert_eq!(ui.count("td.row-actions").await, 0);
    assert_eq!(ui.count("[data-quick-actions]").await, 0);
    ui.assert_accessible("the campaigns list, as a viewer")
        .await;
    ui.screenshots("campaigns-viewer").await;
    ui.close().await;
}
