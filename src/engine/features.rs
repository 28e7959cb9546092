//! From tokens to feature vectors: token hashing, the vocabulary (hash → column), and the weighting
//! of counts (TF transform, IDF, length normalization after Rennie et al. 2003).

use super::tokenize::TokenKind;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Stable 64-bit hash of a token: xxh3 of its text, seeded by its family. The value is stored in
/// model files, so it must never change for a given format version.
///
/// `meta` and `sender` tokens get the top bit set and all others have it clear, so metadata
/// features sort after text features and a column's group is known from its position alone (see
/// [`Weighting::meta_weight`]). The next bit is set exactly for the families that say where a
/// comment sends its readers ([`TokenKind::is_sender`]), so a column's hash tells it.
#[inline]
pub fn token_hash(kind: TokenKind, text: &str) -> u64 {
    let h = xxhash_rust::xxh3::xxh3_64_with_seed(text.as_bytes(), kind as u64)
        & !(META_BIT | SENDER_BIT);
    let meta = if matches!(kind, TokenKind::Meta | TokenKind::Sender) {
        META_BIT
    } else {
        0
    };
    let sender = if kind.is_sender() { SENDER_BIT } else { 0 };
    h | meta | sender
}

const META_BIT: u64 = 1 << 63;
const SENDER_BIT: u64 = 1 << 62;

/// Whether a token hash belongs to a metadata family (metadata and sender tokens).
#[inline]
pub fn is_meta_hash(hash: u64) -> bool {
    hash & META_BIT != 0
}

/// Whether a token hash belongs to a sender family ([`TokenKind::is_sender`]).
#[inline]
pub fn is_sender_hash(hash: u64) -> bool {
    hash & SENDER_BIT != 0
}

/// Default of [`Weighting::website_log_odds`], chosen by measurement (training-data/README.md).
pub const DEFAULT_WEBSITE_LOG_ODDS: f64 = 1.0;

/// How raw term counts become feature values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TfTransform {
    /// The count itself.
    Raw,
    /// `ln(1 + count)`: dampens repeated words (Rennie et al. §4.1).
    Log,
    /// 1 if present.
    Binary,
}

impl TfTransform {
    #[inline]
    fn apply(self, count: u32) -> f64 {
        match self {
            TfTransform::Raw => f64::from(count),
            TfTransform::Log => f64::from(count).ln_1p(),
            TfTransform::Binary => 1.0,
        }
    }
}

/// Feature weighting applied before fitting and scoring.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weighting {
    pub tf: TfTransform,
    /// Multiply by smoothed inverse document frequency `ln((1 + n) / (1 + df)) + 1`.
    pub idf: bool,
    /// Scale each comment's vector to unit L2 length, so long comments do not dominate the
    /// class-conditional estimates (Rennie et al. §4.3).
    pub l2_norm: bool,
    /// Fixed value of each metadata feature, outside the length normalization, so that facts such
    /// as "has 3 links" weigh the same in a long comment as in a short one. `None` treats metadata
    /// like text.
    #[serde(default)]
    pub meta_weight: Option<f64>,
    /// Log-odds added when the Website field is filled in, and counted as sender evidence. A
    /// prior, not learned: no ham corpus has the field, so its learned weight would be the
    /// corpus's (+8 log-odds, every blog-spam row has one) rather than the world's.
    #[serde(default)]
    pub website_log_odds: f64,
}

/// Default of [`Weighting::meta_weight`]: the value a model takes when not told otherwise, and the
/// largest `replyguard train` chooses (`train::META_WEIGHT_CHOICES`).
pub const DEFAULT_META_WEIGHT: f64 = 1.0;

impl Default for Weighting {
    fn default() -> Self {
        Weighting {
            tf: TfTransform::Binary,
            idf: false,
            l2_norm: true,
            meta_weight: Some(DEFAULT_META_WEIGHT),
            website_log_odds: DEFAULT_WEBSITE_LOG_ODDS,
        }
    }
}

/// The token hash is already uniformly distributed, so the map uses it almost as is.
#[derive(Default, Clone, Copy)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    /// The hash with its top bits mixed with lower ones. A SwissTable tags each slot with the
    /// top 7 bits of the hash and compares keys only where the tag matches; a token hash's top
    /// two bits are its family ([`token_hash`]), nearly the same for every token, so unmixed
    /// the tag had 5 random bits and a lookup compared 4 times as many keys in vain.
    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 << 7)
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; fold anything else defensively.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashIndex = HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>;

/// The model's features. Columns `0..sorted` are the model file's tokens, hashes ascending (text
/// first, metadata from `meta_start`), shared between every model built on that file; a site's
/// learned model appends the tokens its lessons brought and the file lacks as extra columns
/// (IDF 1), so learning does not rebuild the file's index ([`with_extra`](Self::with_extra)).
#[derive(Debug, Clone)]
pub struct Vocabulary {
    sorted: std::sync::Arc<SortedColumns>,
    /// Hashes of the extra columns, in column order (column `sorted.len() + i`).
    extra: Vec<u64>,
    /// Seeded, unlike the file's index: its keys come from a site's lessons, texts anyone can
    /// post, and token hashes are public xxh3, so texts whose hashes share an identity-hashed
    /// bucket would be cheap to craft. The file's index, on every lookup, is built offline by
    /// `replyguard train`.
    extra_index: foldhash::HashMap<u64, u32>,
}

/// The sorted columns of a [`Vocabulary`].
#[derive(Debug)]
struct SortedColumns {
    hashes: Vec<u64>,
    idf: Vec<f64>,
    index: HashIndex,
    /// First column holding a metadata feature.
    meta_start: u32,
}

impl PartialEq for Vocabulary {
    fn eq(&self, other: &Self) -> bool {
        self.sorted.hashes == other.sorted.hashes
            && self.sorted.idf == other.sorted.idf
            && self.extra == other.extra
    }
}

impl Vocabulary {
    /// Builds a vocabulary from sorted, distinct hashes and their IDF weights (all 1 when IDF is off).
    pub fn new(hashes: Vec<u64>, idf: Vec<f64>) -> Self {
        debug_assert_eq!(hashes.len(), idf.len());
        let mut index = HashIndex::with_capacity_and_hasher(hashes.len(), Default::default());
        for (col, &h) in hashes.iter().enumerate() {
            index.insert(h, col as u32);
        }
        let meta_start = hashes.partition_point(|&h| h & META_BIT == 0) as u32;
        Vocabulary {
            sorted: std::sync::Arc::new(SortedColumns {
                hashes,
                idf,
                index,
                meta_start,
            }),
            extra: Vec::new(),
            extra_index: foldhash::HashMap::default(),
        }
    }

    /// This vocabulary with columns for `extra` appended (distinct hashes it lacks, IDF 1).
    /// Costs O(extra columns): the sorted part is shared.
    pub fn with_extra(&self, extra: Vec<u64>) -> Self {
        let first = self.len() as u32;
        let mut index = self.extra_index.clone();
        index.extend(
            extra
                .iter()
                .enumerate()
                .map(|(i, &h)| (h, first + i as u32)),
        );
        let mut hashes = self.extra.clone();
        hashes.extend(extra);
        Vocabulary {
            sorted: self.sorted.clone(),
            extra: hashes,
            extra_index: index,
        }
    }

    /// Builds a vocabulary from per-document token counts: keeps tokens seen in at least `min_df`
    /// documents.
    pub fn from_documents<'a>(
        docs: impl Iterator<Item = &'a [(u64, u32)]>,
        min_df: u32,
        idf: bool,
    ) -> Self {
        let mut df: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>> = HashMap::default();
        let mut n_docs = 0u32;
        for doc in docs {
            n_docs += 1;
            for &(h, _) in doc {
                *df.entry(h).or_insert(0) += 1;
            }
        }
        let mut kept: Vec<(u64, u32)> = df.into_iter().filter(|&(_, d)| d >= min_df).collect();
        kept.sort_unstable_by_key(|&(h, _)| h);
        let weights = kept
            .iter()
            .map(|&(_, d)| {
                if idf {
                    ((1.0 + f64::from(n_docs)) / (1.0 + f64::from(d))).ln() + 1.0
                } else {
                    1.0
                }
            })
            .collect();
        Vocabulary::new(kept.into_iter().map(|(h, _)| h).collect(), weights)
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.sorted.hashes.len() + self.extra.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Column of a token hash, if the model knows it.
    #[inline]
    pub fn column(&self, hash: u64) -> Option<u32> {
        match self.sorted.index.get(&hash) {
            Some(&col) => Some(col),
            None if self.extra.is_empty() => None,
            None => self.extra_index.get(&hash).copied(),
        }
    }

    /// The hash in column `col`.
    #[inline]
    pub fn hash(&self, col: u32) -> Option<u64> {
        let col = col as usize;
        match self.sorted.hashes.get(col) {
            Some(&h) => Some(h),
            None => self.extra.get(col - self.sorted.hashes.len()).copied(),
        }
    }

    /// Every column's hash, in column order.
    pub fn hashes(&self) -> impl Iterator<Item = u64> + '_ {
        self.sorted.hashes.iter().chain(&self.extra).copied()
    }

    /// The sorted columns' hashes (all of them when [`is_sorted`](Self::is_sorted)).
    pub fn sorted_hashes(&self) -> &[u64] {
        &self.sorted.hashes
    }

    /// Whether the columns are all sorted ones (no extra columns): the layout a model file has.
    pub fn is_sorted(&self) -> bool {
        self.extra.is_empty()
    }

    /// Whether column `col` holds a metadata feature.
    #[inline]
    pub fn is_meta(&self, col: u32) -> bool {
        if (col as usize) < self.sorted.hashes.len() {
            col >= self.sorted.meta_start
        } else {
            self.hash(col).is_some_and(is_meta_hash)
        }
    }

    /// The IDF weight of column `col` (1 for extra columns).
    #[inline]
    pub fn idf(&self, col: u32) -> f64 {
        self.sorted.idf.get(col as usize).copied().unwrap_or(1.0)
    }

    /// The IDF weight of a token, known or not (1 for a token the sorted columns lack).
    #[inline]
    pub fn idf_of_hash(&self, hash: u64) -> f64 {
        self.sorted
            .index
            .get(&hash)
            .map_or(1.0, |&col| self.idf(col))
    }

    /// Turns `(column, count)` pairs (distinct columns, in any order) into weighted feature values,
    /// in the same order.
    pub fn weigh(&self, weighting: &Weighting, counts: &[(u32, u32)], out: &mut Vec<(u32, f64)>) {
        weigh_with(
            weighting,
            counts,
            |col| self.is_meta(col),
            |col| self.idf(col),
            out,
        );
    }

    /// Turns a document's `(hash, count)` pairs into weighted feature values, every token as a
    /// column of a model that knows it: tokens this vocabulary lacks with IDF 1, as they would be
    /// once learned. A lesson's values in any model that learns it.
    pub fn weigh_tokens(
        &self,
        weighting: &Weighting,
        tokens: &[(u64, u32)],
        out: &mut Vec<(u64, f64)>,
    ) {
        weigh_with(
            weighting,
            tokens,
            is_meta_hash,
            |h| self.idf_of_hash(h),
            out,
        );
    }

    /// Maps a document's `(hash, count)` pairs (sorted by hash) to `(column, count)` pairs for known
    /// tokens, in the document's order (ascending columns too when [`is_sorted`](Self::is_sorted)).
    pub fn known_counts(&self, doc: &[(u64, u32)], out: &mut Vec<(u32, u32)>) {
        out.clear();
        out.extend(
            doc.iter()
                .filter_map(|&(h, c)| self.column(h).map(|col| (col, c))),
        );
    }
}

/// Weighs `(key, count)` pairs: metadata keeps its fixed value outside the normalization, text
/// is `tf × idf`, l2-normalized over the text part.
fn weigh_with<K: Copy>(
    weighting: &Weighting,
    counts: &[(K, u32)],
    is_meta: impl Fn(K) -> bool,
    idf: impl Fn(K) -> f64,
    out: &mut Vec<(K, f64)>,
) {
    out.clear();
    let mut sum_sq = 0.0;
    let fixed_value = |key: K| weighting.meta_weight.filter(|_| is_meta(key));
    for &(key, count) in counts {
        if let Some(meta) = fixed_value(key) {
            out.push((key, meta));
            continue;
        }
        let w = weighting.tf.apply(count) * idf(key);
        sum_sq += w * w;
        out.push((key, w));
    }
    if weighting.l2_norm && sum_sq > 0.0 {
        let inv = 1.0 / sum_sq.sqrt();
        for (key, w) in out.iter_mut() {
            if fixed_value(*key).is_none() {
                *w *= inv;
            }
        }
    }
}

/// Collapses a list of hashes into sorted `(hash, count)` pairs.
pub fn count_hashes(hashes: &mut [u64], out: &mut Vec<(u64, u32)>) {
    out.clear();
    hashes.sort_unstable();
    for &h in hashes.iter() {
        match out.last_mut() {
            Some((last, count)) if *last == h => *count += 1,
            _ => out.push((h, 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_prunes_by_document_frequency() {
        let docs: Vec<Vec<(u64, u32)>> =
            vec![vec![(1, 2), (5, 1)], vec![(1, 1), (7, 3)], vec![(5, 1)]];
        let vocab = Vocabulary::from_documents(docs.iter().map(Vec::as_slice), 2, false);
        assert_eq!(vocab.hashes().collect::<Vec<_>>(), [1, 5]);
        assert_eq!(vocab.column(5), Some(1));
        assert_eq!(vocab.column(7), None);
    }

    #[test]
    fn weighting_log_tf_idf_l2() {
        let vocab = Vocabulary::new(vec![10, 20], vec![1.0, 2.0]);
        let mut out = Vec::new();
        let w = Weighting {
            tf: TfTransform::Log,
            idf: true,
            l2_norm: true,
            meta_weight: None,
            website_log_odds: 0.0,
        };
        vocab.weigh(&w, &[(0, 1), (1, 3)], &mut out);
        let a = 2f64.ln();
        let b = 4f64.ln() * 2.0;
        let norm = (a * a + b * b).sqrt();
        assert!((out[0].1 - a / norm).abs() < 1e-12);
        assert!((out[1].1 - b / norm).abs() < 1e-12);
    }

    #[test]
    fn counts_hashes() {
        let mut hashes = vec![3, 1, 3, 2, 3];
        let mut out = Vec::new();
        count_hashes(&mut hashes, &mut out);
        assert_eq!(out, [(1, 1), (2, 1), (3, 3)]);
    }
}
