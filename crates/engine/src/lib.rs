//! The Sluice runtime. It claims due work from the store in batches with a lease, carries it
//! out — campaign occurrences become one send per audience member; sends are rendered and
//! handed to their channel — and settles each row fenced by its attempt, so a crash loses no
//! work and records no delivery twice. Time comes from the `Clock`; the brakes (`Brakes`) keep
//! B1 inside the process.

mod allowance;
mod brakes;
mod journey;
mod notify;
mod send;
mod settle;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;

use sluice_core::clock::Clock;
use sluice_store::{Claim, DueWork, Store, StoreError, WorkKind};
use tokio::sync::Notify;
use tracing::Instrument;

pub use brakes::{BrakeSubject, Brakes, InFlight};

/// The kinds of work this engine carries out: fan-outs (a page of an audience each) are
/// claimed ahead of the rest.
const FAN_OUTS: &[WorkKind] = &[WorkKind::Occurrence, WorkKind::JourneyEntry];
const KINDS: &[WorkKind] = &[WorkKind::Send, WorkKind::Trigger, WorkKind::JourneyStep];
/// Fan-out pages claimed per tick.
const FAN_OUT_BATCH: u32 = 4;

/// Rows a brake ended that one tick cancels.
const SWEEP_BATCH: u32 = 500;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Batches carried out at the same time: while one waits for its channels or for the
    /// writer, another claims and reads.
    pub workers: usize,
    /// Rows claimed at once.
    pub batch: u32,
    /// How long a claim holds before another worker may take the row over.
    pub lease: Duration,
    /// How often an idle engine looks for due work (it is also woken on writes).
    pub poll: Duration,
    /// Deliveries settled together in one transaction; a brake waits for the chunks in flight.
    pub chunk: usize,
    /// Chunks of one batch handed to channels at the same time (deliveries in flight: `chunk`
    /// × `chunks_in_flight` × `workers`).
    pub chunks_in_flight: usize,
    /// Tries of a retryable delivery before it is recorded `failed`.
    pub max_attempts: u32,
    /// First retry delay; it doubles per attempt (with jitter) up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// The longest one delivery may take, whatever its channel does (a stuck connection, a
    /// pool that never hands one out); then it is retried on its back-off. Above the
    /// channels' own time-outs (webhook 10 s, email 60 s), which give the better reason.
    pub delivery_timeout: Duration,
    /// At shutdown, how long the batches in hand may take to finish; then their deliveries
    /// still in flight are cut and their work given back for the next start. The engine stops
    /// within about this long whatever receivers do.
    pub shutdown_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            batch: 512,
            lease: Duration::from_secs(120),
            poll: Duration::from_millis(100),
            chunk: 64,
            chunks_in_flight: 4,
            max_attempts: 5,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(600),
            delivery_timeout: Duration::from_secs(90),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    brakes: Arc<Brakes>,
    config: EngineConfig,
    wake: Notify,
    senders: send::Senders,
    forwarder: notify::Forwarder,
    settler: settle::Settler,
    /// Cancelled when the engine shuts down and its grace is over: cuts every delivery in
    /// flight, giving its work back.
    release: tokio_util::sync::CancellationToken,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Runs a storage call on the blocking pool (the store is synchronous).
async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?
}

/// Runs `items` in chunks of `EngineConfig::chunk`, `chunks_in_flight` at a time, each to its
/// end even after one failed (a chunk dropped half way would leave its settlements queued
/// after its brake registrations were released); the first error, if any.
async fn in_chunks<T, F>(
    engine: &Engine,
    items: Vec<T>,
    run: impl Fn(Vec<T>) -> F,
) -> Result<(), StoreError>
where
    F: std::future::Future<Output = Result<(), StoreError>>,
{
    let size = engine.config.chunk.max(1);
    let mut chunks = Vec::with_capacity(items.len() / size + 1);
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(size).collect::<Vec<_>>());
    }
    let mut running = futures_util::stream::iter(chunks.into_iter().map(run))
        .buffer_unordered(engine.config.chunks_in_flight.max(1));
    let mut failed = None;
    while let Some(result) = running.next().await {
        if let Err(e) = result {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        brakes: Arc<Brakes>,
        config: EngineConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            clock,
            brakes,
            config,
            wake: Notify::new(),
            senders: send::Senders::default(),
            forwarder: notify::Forwarder::default(),
            settler: settle::Settler::default(),
            release: tokio_util::sync::CancellationToken::new(),
        })
    }

    pub fn brakes(&self) -> &Arc<Brakes> {
        &self.brakes
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Something became due (an activation, a trigger, a moved test clock): look now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves once a shutdown's grace is over (see `EngineConfig::shutdown_grace`).
    pub(crate) async fn released(&self) {
        self.release.cancelled().await;
    }

    /// Runs until `shutdown` resolves; the batches in hand are finished first, for at most
    /// `shutdown_grace`, after which their deliveries in flight are cut and given back.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        // The embedded store has one engine: rows still claimed were claimed by a process that
        // died (SIGKILL, power loss). They run again now, under their idempotency keys, rather
        // than after their lease.
        match blocking(&self.store, |s| s.release_claims()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(rows = n, "took back work claimed before a crash"),
            Err(e) => tracing::error!(error = %e, "could not take back claimed work"),
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers: Vec<_> = (0..self.config.workers.max(1))
            .map(|_| tokio::spawn(Arc::clone(&self).work(stopped.clone())))
            .collect();
        shutdown.await;
        let _ = stop.send(true);
        let grace = self.config.shutdown_grace;
        let release = self.release.clone();
        let cut = tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            tracing::warn!(
                ?grace,
                "deliveries still in flight at shutdown are given back"
            );
            release.cancel();
        });
        for worker in workers {
            if let Err(e) = worker.await {
                tracing::error!(error = %e, "an engine worker failed");
            }
        }
        cut.abort();
    }

    /// One worker: tick after tick while there is work, else wait to be woken or to poll.
    async fn work(self: Arc<Self>, mut stopped: tokio::sync::watch::Receiver<bool>) {
        while !*stopped.borrow() {
            let worked = match self.tick().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "engine tick failed; retrying");
                    0
                }
            };
            if worked > 0 {
                // There may be more: a sleeping peer joins in.
                self.wake.notify_one();
                continue;
            }
            tokio::select! {
                _ = stopped.changed() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// Claims one batch of due work and carries it out; the number of rows handled.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        // Rows a brake ended are cancelled in small batches, so neither the brake nor the
        // writers waiting behind this one hold the store for long.
        let swept = blocking(&self.store, |s| s.sweep(SWEEP_BATCH)).await?;
        let now = self.clock.read();
        let (batch, lease) = (self.config.batch, self.config.lease);
        // Fan-outs first: a page of an audience is due again at once, and must not wait behind
        // the sends of its own earlier pages.
        let claimed = blocking(&self.store, move |s| {
            let mut claimed = s.claim_due(now, FAN_OUT_BATCH, lease, FAN_OUTS)?;
            claimed.extend(s.claim_due(now, batch, lease, KINDS)?);
            Ok(claimed)
        })
        .await?;
        let n = claimed.len() + swept as usize;
        let claims: Vec<Claim> = claimed.iter().map(DueWork::claim).collect();
        let work = self.carry_out(claimed, now.business);
        tokio::pin!(work);
        // A batch that takes long (slow receivers, SMTP time-outs) keeps its leases, so the
        // other worker never takes over rows this one is still carrying out.
        let renew_every = self.config.lease / 3;
        loop {
            tokio::select! {
                done = &mut work => {
                    done?;
                    break;
                }
                () = tokio::time::sleep(renew_every) => {
                    let (now, claims) = (self.clock.read(), claims.clone());
                    blocking(&self.store, move |s| s.renew_leases(&claims, now, lease)).await?;
                }
            }
        }
        // Forwarding is not counted as work: an unreachable webhook must not keep the loop busy.
        self.forwarder.forward(self).await?;
        Ok(n)
    }

    /// Carries out claimed work: fan-out pages first, then sends and journey steps.
    async fn carry_out(
        &self,
        claimed: Vec<DueWork>,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        let (steps, claimed): (Vec<DueWork>, Vec<DueWork>) = claimed
            .into_iter()
            .partition(|w| w.kind == WorkKind::JourneyStep);
        let (fan_outs, sends): (Vec<DueWork>, Vec<DueWork>) = claimed
            .into_iter()
            .partition(|w| matches!(w.kind, WorkKind::Occurrence | WorkKind::JourneyEntry));
        for work in fan_outs {
            let span = tracing::info_span!("fan_out", kind = work.kind.as_str(),
                campaign = ?work.campaign_id, journey = ?work.journey_id, version = work.version);
            let page = blocking(&self.store, move |s| match work.kind {
                WorkKind::JourneyEntry => s.enter_audience(&work, now),
                _ => s.start_occurrence(&work, now),
            })
            .instrument(span.clone())
            .await?;
            span.in_scope(|| tracing::debug!(?page, "audience page read"));
        }
        // One allowance for the batch: sends and steps to one rate-limited channel share it.
        let allowance = allowance::Allowance::default();
        if !sends.is_empty() {
            send::deliver(self, sends, &allowance).await?;
        }
        if !steps.is_empty() {
            journey::step(self, steps, &allowance).await?;
        }
        Ok(())
    }
}
