//! Per-IP protection in memory: the flood check (one comment per address every N seconds) and a
//! per-minute rate limit. Either is disabled with 0 (behind a proxy, or for load tests).

use super::error::WebError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Beyond this many tracked addresses, stale entries are pruned.
const PRUNE_AT: usize = 10_000;

pub struct PostGuard {
    flood: Duration,
    per_minute: u32,
    state: Mutex<Tracked>,
}

/// The addresses seen, and the size at which stale ones are next pruned: twice what survived the
/// last pruning, so a pruning's scan is paid for by as many new addresses (amortized O(1) per
/// call) even when many addresses stay active.
struct Tracked {
    seen: HashMap<IpAddr, Seen>,
    prune_at: usize,
}

#[derive(Clone, Copy)]
struct Seen {
    last: Instant,
    window_start: Instant,
    in_window: u32,
}

impl PostGuard {
    pub fn new(flood_seconds: u64, per_minute: u32) -> Self {
        PostGuard {
            flood: Duration::from_secs(flood_seconds),
            per_minute,
            state: Mutex::new(Tracked {
                seen: HashMap::new(),
                prune_at: PRUNE_AT,
            }),
        }
    }

    /// Checks whether `ip` may post now and, if so, counts the post.
    pub fn admit(&self, ip: IpAddr) -> Result<(), WebError> {
        if self.flood.is_zero() && self.per_minute == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut state = self
            .state
            .lock()
            .map_err(|_| WebError::Internal("guard lock poisoned".into()))?;
        if state.seen.len() > state.prune_at {
            let keep = self.flood.max(Duration::from_secs(60));
            state
                .seen
                .retain(|_, seen| now.duration_since(seen.last) < keep);
            state.prune_at = PRUNE_AT.max(2 * state.seen.len());
        }
        let seen = state.seen.entry(ip).or_insert(Seen {
            last: now - self.flood - Duration::from_secs(1),
            window_start: now,
            in_window: 0,
        });
        if !self.flood.is_zero() && now.duration_since(seen.last) < self.flood && seen.in_window > 0
        {
            return Err(WebError::Flood);
        }
        if now.duration_since(seen.window_start) >= Duration::from_secs(60) {
            seen.window_start = now;
            seen.in_window = 0;
        }
        if self.per_minute > 0 && seen.in_window >= self.per_minute {
            return Err(WebError::RateLimited);
        }
        seen.last = now;
        seen.in_window += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flood_and_rate_limit() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let guard = PostGuard::new(15, 0);
        assert!(guard.admit(ip).is_ok());
        assert!(matches!(guard.admit(ip), Err(WebError::Flood)));
        assert!(guard.admit(other).is_ok());

        let guard = PostGuard::new(0, 2);
        assert!(guard.admit(ip).is_ok());
        assert!(guard.admit(ip).is_ok());
        assert!(matches!(guard.admit(ip), Err(WebError::RateLimited)));

        // Many active addresses: the map is pruned once per doubling, not on every call.
        let guard = PostGuard::new(0, 5);
        for i in 0..(3 * PRUNE_AT as u32) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert!(guard.admit(ip).is_ok());
        }
        let tracked = guard.state.lock().unwrap();
        assert!(tracked.prune_at >= tracked.seen.len());
        drop(tracked);

        let off = PostGuard::new(0, 0);
        for _ in 0..100 {
            assert!(off.admit(ip).is_ok());
        }
    }
}
