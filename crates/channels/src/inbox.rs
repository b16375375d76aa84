//! The inbox channel: inbound campaigns are fetched from the API by the user's app, so there is
//! nothing to send; delivering only records that the message is now served.

use crate::{Channel, DeliveryFuture, DeliveryOutcome, OutgoingMessage};

#[derive(Debug, Clone, Copy, Default)]
pub struct InboxChannel;

impl Channel for InboxChannel {
    fn deliver<'a>(&'a self, _message: &'a OutgoingMessage) -> DeliveryFuture<'a> {
        Box::pin(async {
            DeliveryOutcome::Delivered {
                detail: Some("served in-app".into()),
            }
        })
    }
}
