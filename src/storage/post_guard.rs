//! Per-address limits on posting: the flood check (one comment per address every N seconds) and a
//! per-minute rate limit; either is disabled with 0. [`MemoryGuard`] keeps them in the process —
//! the SQLite backend's, where one server owns the database; PostgreSQL keeps them in a table
//! every replica shares (`postgres/comments.rs`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Beyond this many tracked addresses, stale entries are pruned.
const PRUNE_AT: usize = 10_000;

/// The limits `serve` enforces (`--flood-seconds`, `--rate-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PostLimits {
    /// Least time between two comments from one address; zero: no flood check.
    pub flood: Duration,
    /// Most comments from one address per minute; zero: no limit.
    pub per_minute: u32,
}

impl PostLimits {
    /// Whether any limit applies.
    pub fn any(&self) -> bool {
        !self.flood.is_zero() || self.per_minute > 0
    }
}

/// What the limits say about one more comment from an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted; it may be posted.
    Admitted,
    /// Too soon after the address's last comment.
    Flood,
    /// The address used up its comments for this minute.
    RateLimited,
}

/// What is remembered of one address, in milliseconds of some clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// When its last admitted comment came.
    pub last_ms: i64,
    /// When its current one-minute window started.
    pub window_start_ms: i64,
    /// Comments admitted in that window.
    pub in_window: i64,
}

impl Seen {
    /// An address never seen.
    pub const NEW: Seen = Seen {
        last_ms: i64::MIN / 2,
        window_start_ms: i64::MIN / 2,
        in_window: 0,
    };

    /// The rule, shared by every backend: whether one more comment at `now_ms` is admitted, and
    /// what to remember afterwards.
    pub fn admit(self, now_ms: i64, limits: PostLimits) -> (Admission, Seen) {
        let flood_ms = limits.flood.as_millis().min(i64::MAX as u128 / 4) as i64;
        let mut seen = self;
        if flood_ms > 0 && now_ms - seen.last_ms < flood_ms && seen.in_window > 0 {
            return (Admission::Flood, self);
        }
        if now_ms - seen.window_start_ms >= 60_000 {
            seen.window_start_ms = now_ms;
            seen.in_window = 0;
        }
        if limits.per_minute > 0 && seen.in_window >= i64::from(limits.per_minute) {
            return (Admission::RateLimited, seen);
        }
        seen.last_ms = now_ms;
        seen.in_window += 1;
        (Admission::Admitted, seen)
    }
}

/// The limits kept in memory.
pub struct MemoryGuard {
    started: Instant,
    state: Mutex<Tracked>,
}

impl Default for MemoryGuard {
    fn default() -> Self {
        MemoryGuard {
            started: Instant::now(),
            state: Mutex::new(Tracked {
                seen: HashMap::new(),
                prune_at: PRUNE_AT,
            }),
        }
    }
}

/// The addresses seen, and the size at which stale ones are next pruned: twice what survived the
/// last pruning, so a pruning's scan is paid for by as many new addresses (amortized O(1) per
/// call) even when many addresses stay active.
struct Tracked {
    seen: HashMap<IpAddr, Seen>,
    prune_at: usize,
}

impl MemoryGuard {
    /// Checks whether `ip` may post now and, if so, counts the post.
    pub fn admit(&self, ip: IpAddr, limits: PostLimits) -> Admission {
        if !limits.any() {
            return Admission::Admitted;
        }
        let now_ms = self.started.elapsed().as_millis() as i64;
        // A panic while holding the lock cannot leave the map inconsistent (each update is one
        // insert), so a poisoned lock is taken over.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.seen.len() > state.prune_at {
            let keep = limits.flood.max(Duration::from_secs(60)).as_millis() as i64;
            state.seen.retain(|_, seen| now_ms - seen.last_ms < keep);
            state.prune_at = PRUNE_AT.max(2 * state.seen.len());
        }
        let seen = state.seen.get(&ip).copied().unwrap_or(Seen::NEW);
        let (admission, after) = seen.admit(now_ms, limits);
        state.seen.insert(ip, after);
        admission
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(flood_seconds: u64, per_minute: u32) -> PostLimits {
        PostLimits {
            flood: Duration::from_secs(flood_seconds),
            per_minute,
        }
    }

    #[test]
    fn flood_and_rate_limit() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let guard = MemoryGuard::default();
        assert_eq!(guard.admit(ip, limits(15, 0)), Admission::Admitted);
        assert_eq!(guard.admit(ip, limits(15, 0)), Admission::Flood);
        assert_eq!(guard.admit(other, limits(15, 0)), Admission::Admitted);

        let guard = MemoryGuard::default();
        assert_eq!(guard.admit(ip, limits(0, 2)), Admission::Admitted);
        assert_eq!(guard.admit(ip, limits(0, 2)), Admission::Admitted);
        assert_eq!(guard.admit(ip, limits(0, 2)), Admission::RateLimited);

        // Many active addresses: the map is pruned once per doubling, not on every call.
        let guard = MemoryGuard::default();
        for i in 0..(3 * PRUNE_AT as u32) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(guard.admit(ip, limits(0, 5)), Admission::Admitted);
        }
        let tracked = guard.state.lock().unwrap();
        assert!(tracked.prune_at >= tracked.seen.len());
        drop(tracked);

        let off = MemoryGuard::default();
        for _ in 0..100 {
            assert_eq!(off.admit(ip, limits(0, 0)), Admission::Admitted);
        }
    }
}
