//! The admin secret: kept at rest only as an Argon2id hash (salted and memory-hard, so a copy of
//! the database does not give a chosen token away), recognised in constant time; and the random
//! tokens (admin token, session ids, CSRF tokens, link keys) the web layer hands out.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng as HashRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// The settings key of the secret's Argon2id hash (a PHC string).
pub(super) const SETTING: &str = "admin_token_argon2";
/// The settings key of the SHA-256 hash earlier versions kept; read until the secret is next
/// proven, then blanked.
pub(super) const LEGACY_SETTING: &str = "admin_token_sha256";

/// How long a check waits for the one Argon2 run allowed at a time before answering "busy".
const SLOW_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// How the secret is kept.
#[derive(Clone)]
enum Stored {
    Argon2(String),
    Sha256([u8; 32]),
}

impl Stored {
    fn matches(&self, token: &str) -> bool {
        match self {
            Stored::Argon2(phc) => PasswordHash::new(phc).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(token.as_bytes(), &hash)
                    .is_ok()
            }),
            Stored::Sha256(hash) => Sha256::digest(token.as_bytes()).ct_eq(hash).into(),
        }
    }
}

/// What a check of a presented token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Right,
    Wrong,
    /// Other checks are running (many wrong tokens at once): try again shortly.
    Busy,
    /// The caller's gate refused the slow check (its address must wait).
    Refused,
}

/// The admin secret, as its hash. A token once proven right is recognised afterwards by a keyed
/// digest in memory (one HMAC, compared in constant time); any other token costs one Argon2 run,
/// one at a time on the blocking pool, so wrong guesses cannot take the server's cores.
pub struct AdminSecret {
    stored: Stored,
    /// The key of the in-memory digest: random per process.
    key: [u8; 32],
    /// The digest of the token last proven right.
    known: Mutex<Option<[u8; 32]>>,
    slow: Arc<tokio::sync::Semaphore>,
    /// Whether this process already replaced an old hash (once is enough).
    upgrading: std::sync::atomic::AtomicBool,
}

impl AdminSecret {
    fn new(stored: Stored) -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        AdminSecret {
            stored,
            key,
            known: Mutex::new(None),
            slow: Arc::new(tokio::sync::Semaphore::new(1)),
            upgrading: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The secret `token`, hashed now with a fresh salt; and the hash to store.
    pub(super) fn from_token(token: &str) -> Result<(Self, String), String> {
        let salt = SaltString::generate(&mut HashRng);
        let phc = Argon2::default()
            .hash_password(token.as_bytes(), &salt)
            .map_err(|e| format!("cannot hash the admin token: {e}"))?
            .to_string();
        Ok((Self::new(Stored::Argon2(phc.clone())), phc))
    }

    /// The secret a stored Argon2 hash keeps; `None` if it is not one.
    pub(super) fn from_phc(phc: &str) -> Option<Self> {
        PasswordHash::new(phc).ok()?;
        Some(Self::new(Stored::Argon2(phc.to_string())))
    }

    /// The secret an earlier version's stored SHA-256 hash keeps; `None` if it is not one.
    pub(super) fn from_sha256_hex(encoded: &str) -> Option<Self> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(encoded, &mut hash).ok()?;
        Some(Self::new(Stored::Sha256(hash)))
    }

    /// What admin sessions are bound to: the stored hash, so a new token ends every session.
    pub(super) fn binding(&self) -> Vec<u8> {
        match &self.stored {
            Stored::Argon2(phc) => phc.as_bytes().to_vec(),
            Stored::Sha256(hash) => hash.to_vec(),
        }
    }

    /// Whether it is kept the old way (SHA-256), to be hashed anew once proven.
    pub(super) fn is_legacy(&self) -> bool {
        matches!(self.stored, Stored::Sha256(_))
    }

    /// True once per process for an old (SHA-256) secret: the caller that gets it stores a salted
    /// hash of the token it just proved.
    pub(super) fn claim_upgrade(&self) -> bool {
        self.is_legacy()
            && !self
                .upgrading
                .swap(true, std::sync::atomic::Ordering::AcqRel)
    }

    /// Whether `token` is the secret, checked on the blocking pool (for start-up).
    pub(super) fn matches_blocking(&self, token: &str) -> bool {
        self.stored.matches(token)
    }

    /// Recognises `token` from now on without the slow check: for a token this process already
    /// knows to be the secret (the one it was started with, or generated and stored). Without it,
    /// the first sign-in after a start waited in the slow queue behind a flood of wrong guesses
    /// (3 s, then 429) for as long as the flood lasted.
    pub(super) fn trust(&self, token: &str) {
        let digest = self.digest(token);
        if let Ok(mut known) = self.known.lock() {
            *known = Some(digest);
        }
    }

    fn digest(&self, token: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `token` is the secret already proven in this process (a keyed digest compared in
    /// constant time; no slow hash).
    pub fn is_known(&self, token: &str) -> bool {
        let digest = self.digest(token);
        let known = self.known.lock().ok().and_then(|k| *k);
        known.is_some_and(|k| bool::from(k.ct_eq(&digest)))
    }

    /// Checks `token` against the secret. Slow checks take turns; within its turn, a check asks
    /// `gate` whether it may run (after a token proven meanwhile is recognised) and, when the
    /// token is wrong, calls `wrong` before the turn passes on. So a burst of guesses sent at
    /// once meets the failures recorded by the ones before it (where checking the gate before
    /// the queue let 60 be evaluated with 5 free), and right tokens sent at once after a start
    /// wait for the first to be proven, not on each other's failures.
    pub async fn check(
        &self,
        token: &str,
        gate: impl FnOnce() -> bool,
        wrong: impl FnOnce(),
    ) -> Check {
        if self.is_known(token) {
            return Check::Right;
        }
        let Ok(Ok(_turn)) =
            tokio::time::timeout(SLOW_CHECK_WAIT, self.slow.clone().acquire_owned()).await
        else {
            return Check::Busy;
        };
        if self.is_known(token) {
            return Check::Right;
        }
        if !gate() {
            return Check::Refused;
        }
        let digest = self.digest(token);
        let stored = self.stored.clone();
        let presented = token.to_string();
        let right = tokio::task::spawn_blocking(move || stored.matches(&presented))
            .await
            .unwrap_or(false);
        if !right {
            wrong();
            return Check::Wrong;
        }
        if let Ok(mut known) = self.known.lock() {
            *known = Some(digest);
        }
        Check::Right
    }
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_is_checked_against_its_salted_hash() {
        let (secret, phc) = AdminSecret::from_token("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        let (_, again) = AdminSecret::from_token("correct horse battery").unwrap();
        assert_ne!(phc, again, "salted: the same token hashes differently");
        assert_eq!(
            secret.check("correct horse battery", || true, || {}).await,
            Check::Right
        );
        // Proven once, it is known; others are still checked in full.
        assert_eq!(
            secret.check("correct horse battery", || true, || {}).await,
            Check::Right
        );
        assert_eq!(
            secret.check("correct horse batter", || true, || {}).await,
            Check::Wrong
        );
        let reread = AdminSecret::from_phc(&phc).unwrap();
        assert_eq!(
            reread.check("correct horse battery", || true, || {}).await,
            Check::Right
        );
        assert!(AdminSecret::from_phc("not a hash").is_none());
    }

    #[tokio::test]
    async fn guesses_sent_at_once_meet_each_others_failures_and_right_tokens_pass() {
        use crate::web::throttle::AuthThrottle;
        let (secret, _) = AdminSecret::from_token("the right admin token").unwrap();
        let secret = std::sync::Arc::new(secret);
        let throttle = std::sync::Arc::new(AuthThrottle::default());
        let ip = std::net::IpAddr::from([203, 0, 113, 9]);
        let ask = |token: &'static str| {
            let (secret, throttle) = (secret.clone(), throttle.clone());
            tokio::spawn(async move {
                secret
                    .check(token, || throttle.check(ip).is_ok(), || throttle.failed(ip))
                    .await
            })
        };
        let guesses: Vec<_> = (0..20).map(|_| ask("a wrong guess")).collect();
        let mut evaluated = 0;
        for guess in guesses {
            if guess.await.unwrap() == Check::Wrong {
                evaluated += 1;
            }
        }
        assert_eq!(
            evaluated, 5,
            "the free failures, then every other guess refused"
        );
        // Right tokens sent at once on a fresh process: one slow check, the others recognised.
        let (secret, _) = AdminSecret::from_token("the right admin token").unwrap();
        let secret = std::sync::Arc::new(secret);
        let rights: Vec<_> = (0..10)
            .map(|_| {
                let secret = secret.clone();
                tokio::spawn(
                    async move { secret.check("the right admin token", || true, || {}).await },
                )
            })
            .collect();
        for right in rights {
            assert_eq!(right.await.unwrap(), Check::Right);
        }
    }

    #[tokio::test]
    async fn a_trusted_token_passes_while_wrong_guesses_fill_the_slow_queue() {
        let (secret, _) = AdminSecret::from_token("the token it was started with").unwrap();
        secret.trust("the token it was started with");
        // Every slow check busy, as under a flood of wrong tokens.
        let _flood = secret.slow.clone().acquire_owned().await.unwrap();
        assert_eq!(
            secret
                .check("the token it was started with", || true, || {})
                .await,
            Check::Right
        );
        // A token not yet proven still waits its turn (here: for ever, so Busy).
        let started = tokio::time::Instant::now();
        tokio::time::pause();
        assert_eq!(secret.check("a guess", || true, || {}).await, Check::Busy);
        assert!(started.elapsed() >= SLOW_CHECK_WAIT);
    }

    #[tokio::test]
    async fn an_old_sha256_hash_still_works() {
        let hex = hex::encode(Sha256::digest(b"an old admin token"));
        let secret = AdminSecret::from_sha256_hex(&hex).unwrap();
        assert!(secret.is_legacy());
        assert_eq!(
            secret.check("an old admin token", || true, || {}).await,
            Check::Right
        );
        assert_eq!(
            secret.check("another token", || true, || {}).await,
            Check::Wrong
        );
        assert!(AdminSecret::from_sha256_hex("").is_none());
    }
}
