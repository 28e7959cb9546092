//! The time trap's clock: an article page gives its reader a signed note of when it was served
//! (a cookie, so the cached page itself stays the same for everyone), and the reply form that
//! comes back with it tells how long the reader took. A person reads and types for more than a
//! few seconds; a bot that fetches the page and posts at once does not.
//!
//! The note is `SECONDS.SIGNATURE`: the Unix time the page was served and a keyed SHA-256 of it,
//! so a bot cannot claim an older page. A form without a note (cookies off, a client posting
//! directly) is not timed.

use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const COOKIE: &str = "replyguard_form";

/// The cookie an article page sets, for a page served at `now`.
pub fn cookie(key: &str, now: SystemTime) -> String {
    let seconds = unix(now);
    format!(
        "{COOKIE}={seconds}.{}; Path=/articles; Max-Age=86400; HttpOnly; SameSite=Lax",
        signature(key, seconds)
    )
}

/// How long ago the page of the note in `cookie_header` was served, if the note is genuine.
pub fn form_age(key: &str, cookie_header: Option<&str>, now: SystemTime) -> Option<Duration> {
    let note = cookie_header?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)?;
    let (seconds, sig) = note.split_once('.')?;
    let seconds: u64 = seconds.parse().ok()?;
    let genuine: bool = signature(key, seconds)
        .as_bytes()
        .ct_eq(sig.as_bytes())
        .into();
    if !genuine {
        return None;
    }
    Some(Duration::from_secs(unix(now).saturating_sub(seconds)))
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn signature(key: &str, seconds: u64) -> String {
    let digest = Sha256::digest(format!("{key}:form-served:{seconds}").as_bytes());
    hex::encode(&digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_age_of_a_genuine_note_only() {
        let served = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let set = cookie("k", served);
        let note = set.split(';').next().unwrap();
        let header = format!("theme=dark; {note}");
        let later = served + Duration::from_secs(7);
        assert_eq!(
            form_age("k", Some(&header), later),
            Some(Duration::from_secs(7))
        );
        assert_eq!(form_age("other key", Some(&header), later), None);
        let forged = header.replace("1000000.", "999000.");
        assert_eq!(form_age("k", Some(&forged), later), None);
        assert_eq!(form_age("k", None, later), None);
        assert_eq!(form_age("k", Some("replyguard_form=junk"), later), None);
    }
}
