//! Notifications forwarded to the operator webhook (B3), in order and at least once: the
//! position of the last one the webhook accepted is kept in the store, so a restart resumes
//! where it stopped. A failing webhook is retried with back-off and holds back the ones after.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sluice_store::{NOTIFICATION_WEBHOOK_POSITION, NOTIFICATION_WEBHOOK_URL, StoreError};

use crate::{Engine, blocking};

const BATCH: u32 = 50;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(crate) struct Forwarder {
    client: reqwest::Client,
    /// After a failure: not before this instant, and how many failures in a row.
    backoff: Mutex<(Option<Instant>, u32)>,
    /// One worker forwards at a time, so none is posted twice over.
    forwarding: tokio::sync::Mutex<()>,
}

impl Forwarder {
    pub(crate) async fn forward(&self, engine: &Engine) -> Result<(), StoreError> {
        let Ok(_forwarding) = self.forwarding.try_lock() else {
            return Ok(());
        };
        if let (Some(at), _) = *self.backoff.lock().unwrap_or_else(PoisonError::into_inner)
            && Instant::now() < at
        {
            return Ok(());
        }
        let (url, position) = blocking(&engine.store, |s| {
            Ok((
                s.setting(NOTIFICATION_WEBHOOK_URL)?,
                s.setting(NOTIFICATION_WEBHOOK_POSITION)?,
            ))
        })
        .await?;
        let Some(url) = url else { return Ok(()) };
        let position = position.and_then(|p| p.parse().ok());
        let pending = blocking(&engine.store, move |s| {
            s.notifications_after(position, BATCH)
        })
        .await?;
        for (seq, notification) in pending {
            let sent = self
                .client
                .post(&url)
                .timeout(TIMEOUT)
                .json(&notification)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    *self.backoff.lock().unwrap_or_else(PoisonError::into_inner) = (None, 0);
                    blocking(&engine.store, move |s| {
                        s.put_setting(NOTIFICATION_WEBHOOK_POSITION, Some(&seq.to_string()))
                    })
                    .await?;
                }
                failed => {
                    let reason = match failed {
                        Ok(r) => format!("HTTP {}", r.status()),
                        Err(e) => e.to_string(),
                    };
                    let mut backoff = self.backoff.lock().unwrap_or_else(PoisonError::into_inner);
                    let failures = backoff.1 + 1;
                    let wait = sluice_channels::backoff(
                        failures,
                        Duration::from_secs(1),
                        Duration::from_secs(300),
                    );
                    *backoff = (Some(Instant::now() + wait), failures);
                    tracing::warn!(notification = %notification.id, %reason, ?wait, "operator webhook refused a notification");
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}
