//! Who sent a request. Behind a load balancer every connection comes from the balancer, so the
//! flood and rate limits would see one reader; the client's address then comes from
//! `X-Forwarded-For`, but only when the connection comes from a proxy the operator trusts
//! (`--trusted-proxy`): anyone can write that header.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies(nets)
    }

    /// True when `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer itself unless it is a trusted proxy; then, walking
    /// `X-Forwarded-For` from the right (the entry the nearest proxy appended), the first address
    /// that is not a trusted proxy. An unreadable entry stops the walk at the last address
    /// known good.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// Parses a `--trusted-proxy` value: a network (`10.0.0.0/8`) or a single address.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is not an IP address or CIDR network (e.g. 10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("10.0.0.5"), &headers(&["203.0.113.9"])),
            ip("10.0.0.5")
        );
        let lb = TrustedProxies::new(vec![parse_net("10.0.0.0/8").unwrap()]);
        assert_eq!(
            lb.client_ip(ip("10.0.0.5"), &headers(&["203.0.113.9"])),
            ip("203.0.113.9")
        );
        // A spoofed leftmost entry is skipped: the rightmost untrusted address is the client.
        assert_eq!(
            lb.client_ip(
                ip("10.0.0.5"),
                &headers(&["1.1.1.1, 203.0.113.9, 10.0.0.7"])
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            lb.client_ip(ip("10.0.0.5"), &headers(&["1.1.1.1", "[2001:db8::1]:443"])),
            ip("2001:db8::1")
        );
        assert_eq!(
            lb.client_ip(ip("10.0.0.5"), &headers(&["garbage"])),
            ip("10.0.0.5")
        );
        assert_eq!(lb.client_ip(ip("10.0.0.5"), &headers(&[])), ip("10.0.0.5"));
        // From an untrusted peer the header is ignored.
        assert_eq!(
            lb.client_ip(ip("198.51.100.1"), &headers(&["203.0.113.9"])),
            ip("198.51.100.1")
        );
        assert!(parse_net("192.168.1.1").is_ok());
        assert!(parse_net("nope").is_err());
    }
}
