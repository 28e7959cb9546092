//! Akismet API keys: generation, hashing, and the blog URLs they are bound to.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Length of a generated key (lowercase hex, so it is also a valid DNS label for the legacy
/// key-as-subdomain form `KEY.host`).
pub const KEY_LEN: usize = 24;
/// Characters of a key kept in clear for listings.
pub const PREFIX_LEN: usize = 6;

/// A new random key.
pub fn generate_key() -> String {
    let mut bytes = [0u8; KEY_LEN / 2];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a key.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.trim().as_bytes()))
}

/// Whether a string has the shape of a replyguard key (used for the `Host` header's first label).
pub fn looks_like_key(s: &str) -> bool {
    s.len() == KEY_LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Canonical form of a blog URL for matching keys: host (lowercase, IDN in its ASCII form) and
/// path without a trailing slash; the scheme (`http`, `https`, in any case), default ports, query
/// and fragment do not matter. Parsed by the `url` crate (WHATWG rules), as browsers do.
pub fn normalize_blog(url: &str) -> String {
    let url = url.trim();
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| u.has_host())
        .or_else(|| url::Url::parse(&format!("http://{url}")).ok());
    let Some(parsed) = parsed else {
        return url.to_ascii_lowercase();
    };
    let host = parsed.host_str().unwrap_or_default();
    let host = match parsed.port() {
        // A default port of the other scheme (blog.example.com:443 over http) is still the blog.
        Some(80 | 443) | None => host.to_string(),
        Some(port) => format!("{host}:{port}"),
    };
    let path = parsed.path().trim_end_matches('/');
    if path.is_empty() {
        host
    } else {
        format!("{host}{path}")
    }
}

/// Whether two blogs in [`normalize_blog`]'s form are one site: `www.` in front of the host does
/// not matter (a WordPress site answers under both and moves between them; the hosted service
/// does not tie a key to either).
pub fn same_blog(a: &str, b: &str) -> bool {
    a.strip_prefix("www.").unwrap_or(a) == b.strip_prefix("www.").unwrap_or(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn www_does_not_make_another_blog() {
        let same = |a: &str, b: &str| same_blog(&normalize_blog(a), &normalize_blog(b));
        assert!(same("https://www.blog.example.com/", "blog.example.com"));
        assert!(same(
            "http://blog.example.com",
            "https://www.blog.example.com"
        ));
        assert!(!same(
            "https://blog.example.com",
            "https://wwwblog.example.com"
        ));
        assert!(!same(
            "https://blog.example.com",
            "https://blog.example.com/sub"
        ));
        assert!(!same(
            "https://blog.example.com",
            "https://other.example.com"
        ));
    }

    #[test]
    fn keys_and_blogs() {
        let key = generate_key();
        assert!(looks_like_key(&key));
        assert_ne!(key, generate_key());
        assert_eq!(key_hash(&key).len(), 64);
        assert!(!looks_like_key("127"));
        assert_eq!(
            normalize_blog("https://Blog.Example.com/"),
            "blog.example.com"
        );
        assert_eq!(
            normalize_blog("http://blog.example.com:80"),
            "blog.example.com"
        );
        assert_eq!(
            normalize_blog("https://example.com/blog/"),
            "example.com/blog"
        );
        for same in [
            "Https://Blog.example.com",
            "HTTP://BLOG.EXAMPLE.COM/",
            "blog.example.com",
            "https://blog.example.com:443/?utm=x#top",
        ] {
            assert_eq!(normalize_blog(same), "blog.example.com", "{same}");
        }
        assert_eq!(
            normalize_blog("https://bücher.example/"),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            normalize_blog("http://blog.example.com:8080"),
            "blog.example.com:8080"
        );
    }
}
