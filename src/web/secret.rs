//! The admin secret: kept only as a SHA-256 hash, compared in constant time; and the random
//! tokens (admin token, session ids, CSRF tokens, link keys) the web layer hands out.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The admin secret, kept only as a SHA-256 hash and compared in constant time.
pub struct AdminSecret {
    pub(super) hash: [u8; 32],
}

impl AdminSecret {
    pub(super) fn hash_of(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    pub(super) fn from_hex(encoded: &str) -> Option<Self> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(encoded, &mut hash).ok()?;
        Some(AdminSecret { hash })
    }

    /// True when `token` is the admin secret.
    pub fn verify(&self, token: &str) -> bool {
        Self::hash_of(token).ct_eq(&self.hash).into()
    }
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(&bytes)
}
