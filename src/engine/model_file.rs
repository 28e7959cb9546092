//! The `.rgm` model file: replyguard's own compact binary format for fast loading.
//!
//! Layout (all integers and floats little-endian):
//! ```text
//! magic      8 bytes  "RGMODEL\0"
//! version    u32      FORMAT_VERSION
//! meta_len   u32      length of the JSON metadata
//! meta       JSON     ModelMeta (training files and hashes, counts, hyper-parameters, thresholds…)
//! n          u64      number of features
//! docs       2 × f64  documents learned per class: ham, spam (weighted)
//! hashes     n × u64  token hashes, strictly ascending (column order)
//! idf        n × f64
//! counts     n × f64  summed feature values per column, ham, then n × f64 spam
//! sha256     32 bytes of everything above
//! ```
//! Version 2 stores counts, not log-probabilities, so a loaded model can go on learning; the
//! smoothing (alpha) is in the metadata's hyper-parameters. Version 1 files are refused with the
//! command that retrains them.
//! Files are written to a temporary sibling and renamed into place, so a reader (the server's live
//! reload) never sees a half-written model.

use super::error::EngineError;
use super::features::Vocabulary;
use super::model::{Model, ModelMeta, NaiveBayesCore};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"RGMODEL\0";
/// Version of the layout above; bump on any incompatible change (including token hashing).
pub const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 8 + 4 + 4;
const CHECKSUM_LEN: usize = 32;

/// Serializes a model to bytes.
pub fn encode(model: &Model) -> Vec<u8> {
    if !model.core.is_compact() {
        // A site's learned model: its extra columns take their sorted places.
        return encode(&Model {
            meta: model.meta.clone(),
            core: model.core.compacted(),
        });
    }
    let meta = serde_json::to_vec(&model.meta).unwrap_or_default();
    let core = &model.core;
    let n = core.vocab.len();
    let mut out = Vec::with_capacity(HEADER_LEN + meta.len() + 8 + 16 + n * 32 + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for d in core.class_docs {
        out.extend_from_slice(&d.to_le_bytes());
    }
    for h in core.vocab.hashes() {
        out.extend_from_slice(&h.to_le_bytes());
    }
    for col in 0..n as u32 {
        out.extend_from_slice(&core.vocab.idf(col).to_le_bytes());
    }
    for arr in [core.feature_counts(0), core.feature_counts(1)] {
        for &x in arr.iter() {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// The version a model file is served and stored under: the first 6 bytes of its SHA-256, in hex.
pub fn version_of(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..6])
}

/// Parses model bytes; `path` is only used in error messages.
pub fn decode(bytes: &[u8], path: &Path) -> Result<Model, EngineError> {
    let fail = |reason: String| EngineError::ModelFormat {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(fail("not a replyguard model file (bad magic bytes)".into()));
    }
    if bytes.len() < HEADER_LEN {
        return Err(fail(format!(
            "truncated: {} bytes, header alone needs {HEADER_LEN}",
            bytes.len()
        )));
    }
    let version = u32::from_le_bytes(
        bytes[8..12]
            .try_into()
            .map_err(|_| fail("bad header".into()))?,
    );
    if version != FORMAT_VERSION {
        return Err(fail(format!(
            "model format version {version} is not supported (this build reads version {FORMAT_VERSION}{}); retrain it with `replyguard train --out {}`",
            if version < FORMAT_VERSION {
                ", which keeps the counts a model needs to go on learning"
            } else {
                ""
            },
            path.display()
        )));
    }
    let meta_len = u32::from_le_bytes(
        bytes[12..16]
            .try_into()
            .map_err(|_| fail("bad header".into()))?,
    ) as usize;
    let n_at = HEADER_LEN + meta_len;
    let truncated = |need: usize| {
        fail(format!(
            "truncated: {} bytes, expected {need}; the file was cut short (retrain or restore it)",
            bytes.len()
        ))
    };
    if bytes.len() < n_at + 8 {
        return Err(truncated(n_at + 8 + 16 + CHECKSUM_LEN));
    }
    let n = u64::from_le_bytes(
        bytes[n_at..n_at + 8]
            .try_into()
            .map_err(|_| fail("bad header".into()))?,
    );
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n <= bytes.len() / 8)
        .ok_or_else(|| {
            fail(format!(
                "feature count {n} is impossible for a {}-byte file",
                bytes.len()
            ))
        })?;
    let body_at = n_at + 8;
    let expected = body_at + 16 + n * 32 + CHECKSUM_LEN;
    if bytes.len() < expected {
        return Err(truncated(expected));
    }
    if bytes.len() > expected {
        return Err(fail(format!(
            "{} unexpected trailing bytes",
            bytes.len() - expected
        )));
    }
    let (content, checksum) = bytes.split_at(expected - CHECKSUM_LEN);
    if Sha256::digest(content).as_slice() != checksum {
        return Err(fail(
            "checksum mismatch: the file is corrupt (retrain or restore it)".into(),
        ));
    }
    let meta: ModelMeta = serde_json::from_slice(&bytes[HEADER_LEN..n_at])
        .map_err(|e| fail(format!("invalid metadata: {e}")))?;

    let mut at = body_at;
    let mut next_u64 = || {
        let word: [u8; 8] = bytes[at..at + 8].try_into().unwrap_or([0; 8]);
        at += 8;
        u64::from_le_bytes(word)
    };
    let class_docs = [f64::from_bits(next_u64()), f64::from_bits(next_u64())];
    let hashes: Vec<u64> = (0..n).map(|_| next_u64()).collect();
    let mut floats =
        |count: usize| -> Vec<f64> { (0..count).map(|_| f64::from_bits(next_u64())).collect() };
    let idf = floats(n);
    let ham = floats(n);
    let spam = floats(n);

    if meta.vocabulary_size != n {
        return Err(fail(format!(
            "metadata says {} features, body has {n}",
            meta.vocabulary_size
        )));
    }
    if hashes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(fail("token hashes are not strictly ascending".into()));
    }
    let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
    if !finite(&class_docs) || !finite(&idf) || !finite(&ham) || !finite(&spam) {
        return Err(fail("non-finite parameter".into()));
    }
    let non_negative = |v: &[f64]| v.iter().all(|&x| x >= 0.0);
    if !non_negative(&ham) || !non_negative(&spam) || class_docs.iter().any(|&d| d <= 0.0) {
        return Err(fail(
            "negative feature count or a class without documents".into(),
        ));
    }
    meta.thresholds.validate().map_err(fail)?;
    let hp = &meta.hyperparameters;
    if !(hp.alpha.is_finite() && hp.alpha > 0.0) {
        return Err(fail(format!("invalid smoothing alpha {}", hp.alpha)));
    }
    let core = NaiveBayesCore::from_counts(
        hp.tokenizer,
        hp.weighting,
        Vocabulary::new(hashes, idf),
        hp.alpha,
        class_docs,
        [ham, spam],
    );
    Ok(Model { meta, core })
}

/// Reads and validates a model file.
pub fn load(path: &Path) -> Result<Model, EngineError> {
    let bytes = std::fs::read(path).map_err(|source| EngineError::ModelRead {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes, path)
}

/// Writes a model atomically: temporary sibling, fsync, rename.
pub fn save(model: &Model, path: &Path) -> Result<(), EngineError> {
    let err = |source| EngineError::ModelWrite {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&encode(model))?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}
