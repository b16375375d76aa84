//! A per-channel rate limit (`rate_limit_per_second`): a token bucket holding one second's worth
//! of tokens, so a channel may burst to its rate and then sends evenly.
//!
//! Implemented as GCRA (a "theoretical arrival time"), which is the same bucket kept as one
//! instant: each `acquire` reserves the next slot under a short lock and then sleeps outside it,
//! so waiters are served in arrival order and no lock is held across an await. Time is Tokio's,
//! so tests run it with paused time.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    limit: Option<Limit>,
    per_second: Option<u32>,
}

#[derive(Debug)]
struct Limit {
    /// Time between tokens: one second / rate.
    interval: Duration,
    /// How far ahead of now the reservations may run without waiting: a full bucket
    /// (rate tokens) minus the one being taken.
    burst_tolerance: Duration,
    /// When the bucket would be back to full if nobody took more.
    theoretical_arrival: Mutex<Instant>,
}

impl RateLimiter {
    /// `None` (or `Some(0)`, which the API refuses anyway) is unlimited.
    pub fn new(per_second: Option<u32>) -> Self {
        let limit = per_second.filter(|&r| r > 0).map(|rate| {
            let interval = Duration::from_secs(1) / rate;
            Limit {
                interval,
                burst_tolerance: interval * (rate - 1),
                theoretical_arrival: Mutex::new(Instant::now()),
            }
        });
        Self {
            limit,
            per_second: per_second.filter(|&r| r > 0),
        }
    }

    /// The rate, `None` when unlimited.
    pub fn per_second(&self) -> Option<u32> {
        self.per_second
    }

    pub fn unlimited() -> Self {
        Self::new(None)
    }

    pub fn is_unlimited(&self) -> bool {
        self.limit.is_none()
    }

    /// Waits until a token is free and takes it. Dropping the future after it started waiting
    /// forfeits the reserved slot (the bucket stays conservative, never over the rate).
    pub async fn acquire(&self) {
        let Some(limit) = &self.limit else {
            return;
        };
        let now = Instant::now();
        let start = {
            // A poisoned lock only means another acquirer panicked; the instant is still valid.
            let mut tat = limit
                .theoretical_arrival
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let base = (*tat).max(now);
            let start = base
                .checked_sub(limit.burst_tolerance)
                .map_or(now, |s| s.max(now));
            *tat = base + limit.interval;
            start
        };
        if start > now {
            tokio::time::sleep_until(start).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_to_the_rate_then_spaces_tokens_evenly() {
        let limiter = RateLimiter::new(Some(5));
        let t0 = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "a full bucket gives 5 at once"
        );
        limiter.acquire().await;
        assert_eq!(t0.elapsed(), Duration::from_millis(200));
        for _ in 0..5 {
            limiter.acquire().await;
        }
        assert_eq!(t0.elapsed(), Duration::from_millis(1200));
    }

    #[tokio::test(start_paused = true)]
    async fn grants_n_tokens_per_second_in_steady_state() {
        let limiter = RateLimiter::new(Some(10));
        let t0 = Instant::now();
        let mut granted = 0;
        loop {
            limiter.acquire().await;
            if t0.elapsed() > Duration::from_secs(3) {
                break;
            }
            granted += 1;
        }
        // The initial burst of 10 plus 10 a second for three seconds.
        assert_eq!(granted, 10 + 30);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_refills_only_up_to_one_bucket() {
        let limiter = RateLimiter::new(Some(4));
        for _ in 0..4 {
            limiter.acquire().await;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        let t0 = Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO);
        limiter.acquire().await;
        assert_eq!(t0.elapsed(), Duration::from_millis(250));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_acquirers_share_one_bucket() {
        let limiter = Arc::new(RateLimiter::new(Some(2)));
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                tokio::spawn(async move {
                    limiter.acquire().await;
                    t0.elapsed()
                })
            })
            .collect();
        let mut done = Vec::new();
        for task in tasks {
            done.push(task.await.unwrap());
        }
        done.sort();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(done, [ms(0), ms(0), ms(500), ms(1000), ms(1500), ms(2000)]);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let limiter = RateLimiter::new(None);
        assert!(limiter.is_unlimited());
        assert!(RateLimiter::new(Some(0)).is_unlimited());
        let t0 = Instant::now();
        for _ in 0..10_000 {
            limiter.acquire().await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }
}
