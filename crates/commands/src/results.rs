//! Results (B2) of a campaign or a journey version: counters, the action log as pages, and
//! the whole log as CSV — the same export for every front end.

use futures_util::Stream;
use sluice_store::{ActionFilter, ActionRecord, Page, PageRequest, Results, StoreError, Subject};

use crate::{Commands, Error, Result};

/// The CSV export's columns, in order.
pub const ACTIONS_CSV_HEADER: [&str; 9] = [
    "at",
    "profile_id",
    "version",
    "occurrence",
    "node_id",
    "channel_id",
    "action",
    "outcome",
    "detail",
];

impl Commands {
    /// `NotFound` unless the subject exists.
    pub async fn check_subject(&self, subject: &Subject) -> Result<()> {
        let s = subject.clone();
        let found = self
            .db(move |store| {
                Ok(match &s {
                    Subject::Campaign { id } => store.campaign(id)?.is_some(),
                    Subject::JourneyVersion { id, version } => store
                        .journey(id)?
                        .is_some_and(|j| j.version(*version).is_some()),
                    Subject::Journey { id } => store.journey(id)?.is_some(),
                })
            })
            .await?;
        if found {
            return Ok(());
        }
        Err(Error::NotFound(match subject {
            Subject::Campaign { id } => format!("no campaign `{id}`"),
            Subject::JourneyVersion { id, version } => {
                format!("no journey `{id}` version {version}")
            }
            Subject::Journey { id } => format!("no journey `{id}`"),
        }))
    }

    pub async fn results(&self, subject: Subject) -> Result<Results> {
        self.check_subject(&subject).await?;
        self.db(move |s| Ok(s.results(&subject)?)).await
    }

    pub async fn actions(
        &self,
        subject: Subject,
        filter: ActionFilter,
        page: PageRequest,
    ) -> Result<Page<ActionRecord>> {
        self.check_subject(&subject).await?;
        self.db(move |s| Ok(s.actions(&subject, &filter, &page)?))
            .await
    }

    /// Every matching record as CSV, streamed while the store reads (no paging, bounded
    /// memory). Once the first chunk is out, a failure can only cut the stream short with an
    /// error, which a client sees as a broken download, never as a whole file.
    pub async fn export_actions(
        &self,
        subject: Subject,
        filter: ActionFilter,
    ) -> Result<impl Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static> {
        self.check_subject(&subject).await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(16);
        let store = std::sync::Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let buffer = SharedBuffer::default();
            let mut writer = csv::Writer::from_writer(buffer.clone());
            let _ = writer.write_record(ACTIONS_CSV_HEADER);
            let send = |writer: &mut csv::Writer<SharedBuffer>| {
                let _ = writer.flush();
                let chunk = std::mem::take(&mut *buffer.0.borrow_mut());
                chunk.is_empty() || tx.blocking_send(Ok(chunk)).is_ok()
            };
            let export = std::panic::AssertUnwindSafe(|| {
                store.for_each_action(&subject, &filter, &mut |a| {
                    let _ = writer.write_record(csv_row(a));
                    // Hand over a chunk every 64 KiB; stop reading if the client went away.
                    buffer.0.borrow().len() < 64 * 1024 || send(&mut writer)
                })
            });
            let result = std::panic::catch_unwind(export).unwrap_or_else(|panic| {
                crate::log_panic(panic.as_ref());
                Err(StoreError::Backend("the export panicked".into()))
            });
            if let Err(e) = result {
                tracing::error!(%e, "CSV export failed");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            } else {
                send(&mut writer);
            }
        });
        Ok(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }
}

fn csv_row(a: &ActionRecord) -> [String; 9] {
    [
        a.at.to_string(),
        a.profile_id.clone(),
        a.version.to_string(),
        a.occurrence.map(|o| o.to_string()).unwrap_or_default(),
        a.node_id.clone().unwrap_or_default(),
        a.channel_id.clone().unwrap_or_default(),
        a.action.clone(),
        a.outcome.as_str().to_owned(),
        a.detail.clone().unwrap_or_default(),
    ]
}

/// The CSV writer's output, taken in chunks while it writes.
#[derive(Clone, Default)]
struct SharedBuffer(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
