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

/// Canonical form of a blog URL for matching keys: lowercase scheme and host, no trailing slash,
/// `http` and `https` treated alike, default ports dropped.
pub fn normalize_blog(url: &str) -> String {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("HTTPS://"))
        .or_else(|| url.strip_prefix("HTTP://"))
        .unwrap_or(url);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let host = host
        .strip_suffix(":80")
        .or_else(|| host.strip_suffix(":443"))
        .unwrap_or(&host);
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        host.to_string()
    } else {
        format!("{host}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
