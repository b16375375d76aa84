//! B1 for the brake commands (abort a campaign, stop a journey version): the brake is engaged
//! before the command runs, so no new delivery starts and the ones in flight are cut and
//! settle; the summary the command returns is then final, and nothing is delivered after it.

use sluice_engine::BrakeSubject;
use sluice_store::{Applied, Summary};

use crate::{Commands, Error, Result};

/// What a brake command returns: the subject after it, and what happened up to the brake.
#[derive(Debug, Clone)]
pub struct Braked<T> {
    pub value: T,
    pub summary: Summary,
}

impl<T> From<Applied<T>> for Braked<T> {
    fn from(applied: Applied<T>) -> Self {
        Self {
            value: applied.value,
            summary: applied.summary.unwrap_or_default(),
        }
    }
}

/// Engages the brake on `subject`, then runs `command`; if it took, the brake holds for good,
/// if it was refused the brake comes off (another call's brake stays). In a task of its own,
/// so a caller that goes away (a closed connection) cannot cut in between the commit and the
/// hold.
pub(crate) async fn under_brake<T: Send + 'static>(
    commands: &Commands,
    subject: BrakeSubject,
    command: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let brakes = std::sync::Arc::clone(commands.engine.brakes());
    tokio::spawn(async move {
        let engaged = brakes.engage(&subject).await;
        let applied = command.await;
        if applied.is_ok() {
            engaged.hold();
        }
        applied
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "a brake command did not finish");
        Error::Failed("the brake command failed; see the server log".into())
    })?
}
