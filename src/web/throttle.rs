//! Throttling of admin sign-in attempts per client address: a few wrong tokens are free, then each
//! further failure doubles the wait (1 s, 2 s, 4 s, … up to 15 minutes) during which every attempt
//! from that address, right or wrong, gets `429` with `Retry-After`. A success forgets the address.
//! Counted in this process (each replica throttles on its own).

use super::error::WebError;
use crate::domain::sender_address::sender_address;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong tokens allowed before the backoff starts.
const FREE_FAILURES: u32 = 5;
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered; past it the ones no longer waiting are forgotten.
const MAX_ADDRESSES: usize = 100_000;

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    blocked_until: Option<Instant>,
}

/// Failed admin sign-ins by client address.
#[derive(Default)]
pub struct AuthThrottle {
    by_ip: Mutex<HashMap<IpAddr, Failures>>,
}

impl AuthThrottle {
    /// `Err` (429) while `ip` must wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), WebError> {
        let ip = sender_address(ip);
        let by_ip = self
            .by_ip
            .lock()
            .map_err(|_| WebError::Internal("throttle lock poisoned".into()))?;
        match by_ip.get(&ip).and_then(|f| f.blocked_until) {
            Some(until) if until > Instant::now() => Err(WebError::TooManyAttempts(
                (until - Instant::now()).as_secs() + 1,
            )),
            _ => Ok(()),
        }
    }

    /// Records a wrong token from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let ip = sender_address(ip);
        let Ok(mut by_ip) = self.by_ip.lock() else {
            return;
        };
        let now = Instant::now();
        if by_ip.len() >= MAX_ADDRESSES {
            by_ip.retain(|_, f| f.blocked_until.is_some_and(|u| u > now));
        }
        let f = by_ip.entry(ip).or_insert(Failures {
            count: 0,
            blocked_until: None,
        });
        f.count = f.count.saturating_add(1);
        if f.count >= FREE_FAILURES {
            let wait = Duration::from_secs(1u64 << (f.count - FREE_FAILURES).min(20)).min(MAX_WAIT);
            f.blocked_until = Some(now + wait);
        }
    }

    /// Forgets `ip`'s failures after a right token.
    pub fn succeeded(&self, ip: IpAddr) {
        let ip = sender_address(ip);
        if let Ok(mut by_ip) = self.by_ip.lock() {
            by_ip.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_sender_is_throttled_by_its_slash_64() {
        let throttle = AuthThrottle::default();
        let ip = |n: u16| IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, n]);
        for n in 0..u16::try_from(FREE_FAILURES).unwrap_or(5) {
            assert!(throttle.check(ip(n)).is_ok());
            throttle.failed(ip(n));
        }
        assert!(
            throttle.check(ip(999)).is_err(),
            "a fresh address of the same /64"
        );
        assert!(
            throttle
                .check(IpAddr::from([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1]))
                .is_ok()
        );
    }
}
