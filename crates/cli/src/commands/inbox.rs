//! `sluice inbox PROFILE`: the in-app messages a profile sees right now.

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use super::Ctx;
use crate::client::{Page, items_of, seg};
use crate::output::{field, print_json};

#[derive(Debug, Args)]
pub struct InboxArgs {
    /// The profile whose inbox to show.
    pub profile: String,
}

pub async fn run(ctx: &Ctx, args: &InboxArgs) -> Result<()> {
    let v = ctx
        .client
        .get(&format!("/api/v1/inbox/{}", seg(&args.profile)), &[])
        .await?;
    if ctx.out.is_json() {
        print_json(&v);
        return Ok(());
    }
    let page = Page {
        items: items_of(&v),
        next_cursor: None,
    };
    ctx.out
        .list(&page, &["campaign", "subject", "body"], message_row);
    Ok(())
}

/// One message: the campaign by name and id (what `campaigns pause` needs), subject, body.
pub fn message_row(m: &Value) -> Vec<String> {
    let name = field(m, "campaign_name");
    let id = field(m, "campaign_id");
    let campaign = match (name.is_empty(), id.is_empty()) {
        (false, false) => format!("{name} ({id})"),
        (true, _) => id,
        (false, true) => name,
    };
    vec![campaign, field(m, "subject"), field(m, "body")]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_name_their_campaign() {
        let m = json!({"campaign_id": "cmp_1", "campaign_name": "promo", "version": 1,
                       "subject": "Sale", "body": "50% off"});
        assert_eq!(message_row(&m), ["promo (cmp_1)", "Sale", "50% off"]);
        let m = json!({"campaign_id": "cmp_1", "subject": null, "body": "x"});
        assert_eq!(message_row(&m), ["cmp_1", "", "x"]);
    }
}
