//! Notifications (B3) and the audit log of every lifecycle command.

use sluice_store::{AuditEntry, Notification, Page, PageRequest, Subject};

use crate::{Caller, Commands, Error, Permission, Result};

impl Commands {
    /// Newest first; `unread` keeps only those not yet read.
    pub async fn notifications(
        &self,
        unread: bool,
        page: PageRequest,
    ) -> Result<Page<Notification>> {
        self.db(move |s| Ok(s.notifications(unread, &page)?)).await
    }

    pub async fn mark_notification_read(&self, caller: &Caller, id: &str) -> Result<Notification> {
        caller.require(Permission::Edit)?;
        let key = id.to_owned();
        self.db(move |s| Ok(s.mark_notification_read(&key)?))
            .await?
            .ok_or_else(|| Error::NotFound(format!("no notification `{id}`")))
    }

    /// Every lifecycle command, newest first; of one campaign or journey when `subject` says.
    pub async fn audit(
        &self,
        subject: Option<Subject>,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        self.db(move |s| Ok(s.audit(subject.as_ref(), &page)?))
            .await
    }
}
