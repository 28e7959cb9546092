//! The address a sender is counted under by every per-address limit (flood and rate limits,
//! sign-in throttling, one vote per reader): an IPv4 address as it is, an IPv6 one by its /64.
//! An ISP, a cloud VM or a home router hands a single customer a whole /64 (RFC 6177), so
//! counting IPv6 senders per address would give anyone 2^64 fresh identities; IPv4-mapped IPv6
//! addresses (`::ffff:a.b.c.d`, what a dual-stack socket reports for an IPv4 client) are the
//! IPv4 address they carry.

use std::net::{IpAddr, Ipv6Addr};

/// `ip` as counted by the per-address limits: IPv4 unchanged, IPv6 with its low 64 bits cleared.
pub fn sender_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sender_is_an_ipv4_address_or_an_ipv6_slash_64() {
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(sender_address(a("203.0.113.7")), a("203.0.113.7"));
        assert_eq!(sender_address(a("2001:db8:1:2::1")), a("2001:db8:1:2::"));
        assert_eq!(
            sender_address(a("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            sender_address(a("2001:db8:1:2::65"))
        );
        assert_ne!(
            sender_address(a("2001:db8:1:2::1")),
            sender_address(a("2001:db8:1:3::1"))
        );
        assert_eq!(sender_address(a("::ffff:203.0.113.7")), a("203.0.113.7"));
        assert_eq!(sender_address(a("::1")), a("::"));
    }
}
