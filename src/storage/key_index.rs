//! Facts about stored comments answered from memory when they are certainly absent: the
//! duplicate check and the reputation lookup, without a database round trip for a sender or a
//! text the site has never stored.
//!
//! A comment is a duplicate when its sender already posted the same text to the same thread
//! (`comments::is_duplicate`); the reputation rules ask whether the site knows the sender's
//! e-mail address, network address, website or linked domains (`comments::reputation`). Almost
//! every text is new, and most spam comes from addresses and domains a site has never seen;
//! proving that took a query on every post and every Akismet check. [`KeyIndex`] keeps a 32-bit
//! fingerprint of every such key of every stored comment, whatever its status (a status changes
//! on rows already read, so the index never misses a key by missing a moderation): an absent
//! key was never stored, so the answer is "no" from memory; a present one (a real match, or one
//! chance in ~4 billion per key) is confirmed by the query, which also knows statuses, ages and
//! trash.
//!
//! The index learns this process's own inserts and edits at once ([`KeyIndex::add`]) and everything
//! else (other replicas, `replyguard import`, the comments stored before start) by reading the
//! rows after a watermark, in the background, at most once per [`REFRESH_EVERY`]. Until the first
//! full read has finished, and while the last refresh is older than [`STALE_AFTER`] (an idle
//! replica), every check asks the database, as before. So a duplicate sent to the *same* server
//! is always caught; one sent to another replica within a second or two of the original can
//! pass, which is the price of answering from memory. The same holds for reputation: a sender
//! first seen on another replica a moment ago is a stranger here for that moment. Edits (a
//! reader's new text, website or links) are read the same way, by the time they were made: each
//! refresh also reads the rows edited since shortly before the previous one began
//! ([`EDIT_SKEW`] earlier, for replicas' clocks and edits still being committed).
//!
//! Domains are keyed as hosts (`shop.example`, and for `a.shop.example` its parent domains too),
//! from websites, links and bare domain names in the text. The database, when asked, matches them
//! as substrings, which can find more; the index decides whether it is asked.
//!
//! Ids are drawn before commit, so on PostgreSQL a row can become visible after a higher id
//! did. The watermark therefore stays below a recent gap in the ids (among the last
//! [`GAP_WINDOW`] ids) until the gap is filled or [`GAP_PATIENCE`] has passed (a rolled-back
//! insert or an erased comment leaves a gap for good).

use super::StorageError;
use crate::domain::site_rules::link_domain;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often at most the index reads what others stored.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// An index not refreshed for this long (an idle replica: refreshes follow checks) answers
/// nothing from memory until its next refresh has ended, so what another replica stored is never
/// missed for longer than this.
pub const STALE_AFTER: Duration = Duration::from_secs(2);
/// Rows read per query while refreshing.
pub const PAGE: i64 = 10_000;
/// Gaps among this many of the newest ids are taken for rows still being committed.
pub const GAP_WINDOW: i64 = 1_000;
/// How long a gap is waited for before it is taken for good.
pub const GAP_PATIENCE: Duration = Duration::from_secs(5);

/// How far back of the previous refresh's start each refresh reads edits again: edit times come
/// from the editing replica's clock (to the second), and an edit can commit a moment after the
/// time it records. Re-reading an edit only adds keys the index already has.
pub const EDIT_SKEW: Duration = Duration::from_secs(10);

/// What a key names: part of its hash, so an e-mail address and a domain spelled alike differ.
#[derive(Debug, Clone, Copy)]
enum KeyKind {
    Text = 0,
    Email = 1,
    Address = 2,
    Domain = 3,
}

fn key(kind: KeyKind, site: i64, parts: &[&str]) -> u32 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&[kind as u8]);
    hasher.update(&site.to_le_bytes());
    // Lengths first, so ("ab", "c") and ("a", "bc") differ.
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.digest() as u32
}

/// A comment's fingerprint for the duplicate check: its site, thread, sender and text.
pub fn fingerprint(site: i64, article: &str, author_email: &str, content: &str) -> u32 {
    key(KeyKind::Text, site, &[article, author_email, content])
}

/// The key of a sender's e-mail address on a site.
pub fn email_key(site: i64, email: &str) -> u32 {
    key(KeyKind::Email, site, &[email])
}

/// The key of a sender's network address on a site, as stored (`203.0.113.7`).
pub fn address_key(site: i64, address: &str) -> u32 {
    key(KeyKind::Address, site, &[address])
}

/// The key of a domain (a host, `shop.example`) on a site.
pub fn domain_key(site: i64, domain: &str) -> u32 {
    key(KeyKind::Domain, site, &[domain])
}

/// The key a site's index holds once a comment named more domains than it keys
/// ([`MAX_DOMAIN_KEYS`]): every domain lookup of that site then goes to the database.
pub fn domains_overflow_key(site: i64) -> u32 {
    key(KeyKind::Domain, site, &["*"])
}

/// Domain keys one comment may add (hosts and their parents): a text stuffed with domains must
/// not grow the index without bound.
pub const MAX_DOMAIN_KEYS: usize = 64;

/// What a stored comment is: the parts its keys are made of.
#[derive(Debug, Clone, Copy)]
pub struct KeyedComment<'a> {
    pub site: i64,
    pub article: &'a str,
    pub author_email: &'a str,
    pub author_url: Option<&'a str>,
    pub user_ip: Option<&'a str>,
    pub content: &'a str,
}

impl KeyedComment<'_> {
    /// Every key the comment answers to: its duplicate-check fingerprint, its sender's e-mail and
    /// network address, and the domains of its website and of its text (each with its parent
    /// domains, as a subdomain's spam counts against the domain).
    pub fn keys(&self) -> Vec<u32> {
        let site = self.site;
        let mut keys = vec![fingerprint(
            site,
            self.article,
            self.author_email,
            self.content,
        )];
        if !self.author_email.is_empty() {
            keys.push(email_key(site, self.author_email));
        }
        if let Some(address) = self.user_ip.filter(|a| !a.is_empty()) {
            keys.push(address_key(site, address));
        }
        let mut domains: Vec<String> = self.author_url.and_then(link_domain).into_iter().collect();
        domains.extend(mentioned_domains(self.content));
        domains.sort_unstable();
        domains.dedup();
        let mut hosts: Vec<&str> = Vec::new();
        for domain in &domains {
            let mut host = domain.as_str();
            loop {
                hosts.push(host);
                match host.split_once('.') {
                    Some((_, parent)) if parent.contains('.') => host = parent,
                    _ => break,
                }
            }
        }
        hosts.sort_unstable();
        hosts.dedup();
        if hosts.len() > MAX_DOMAIN_KEYS {
            keys.push(domains_overflow_key(site));
            hosts.truncate(MAX_DOMAIN_KEYS);
        }
        keys.extend(hosts.into_iter().map(|host| domain_key(site, host)));
        keys
    }
}

/// Every domain a text names, however written: links (`https://…`, `www.…`, inside Markdown,
/// BBCode or HTML attributes), bare domain names (`visit cheap-watches.top today`) and e-mail
/// addresses' domains. The database's substring match finds them all in a spam comment, so the
/// index must know them all.
fn mentioned_domains(content: &str) -> impl Iterator<Item = String> + '_ {
    content
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\''
                        | '<'
                        | '>'
                        | '('
                        | ')'
                        | '['
                        | ']'
                        | '{'
                        | '}'
                        | '='
                        | ','
                        | ';'
                        | '|'
                        | '@'
                        | '\\'
                )
        })
        .filter_map(|piece| match piece.find("://") {
            Some(at) => link_domain(&piece[at + 3..]),
            None => {
                let word = piece.trim_matches(|c: char| !c.is_alphanumeric());
                let host = link_domain(word).filter(|_| word.contains('.'))?;
                host.rsplit('.')
                    .next()
                    .is_some_and(|tld| {
                        tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
                    })
                    .then_some(host)
            }
        })
}

/// One row as the index reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRow {
    pub id: i64,
    /// When its author last edited it, in the stored timestamps' format.
    pub edited_at: Option<String>,
    pub keys: Vec<u32>,
}

/// Which rows a refresh reads next, [`PAGE`] at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRead {
    /// The rows with an id above this, in id order.
    After { id: i64 },
    /// The rows edited after `at`, or at `at` with an id above `id`, in (edit time, id) order.
    EditedSince { at: String, id: i64 },
}

/// The keys of every stored comment, as far as the last refresh and this process's inserts and
/// edits tell.
#[derive(Default)]
pub struct KeyIndex {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    keys: KeySet,
    /// Every row with an id at or below it has been read (but for the gaps being waited on).
    watermark: i64,
    /// Whether every row that existed at start has been read: only then is "absent" an answer.
    complete: bool,
    /// A refresh is under way (one at a time).
    refreshing: bool,
    last_refresh: Option<Instant>,
    /// When the last refresh that read everything to the newest row ended: a failing one must
    /// not keep the index looking fresh.
    last_complete_read: Option<Instant>,
    /// Ids missing among the newest ones read, and when each was first missed.
    gaps: HashMap<i64, Instant>,
    /// Edits from this time on are read by the next refresh; `None` before the first full read
    /// (which reads every row as it is, edits included).
    edits_since: Option<String>,
}

impl KeyIndex {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the state whole, so a poisoned lock is taken over.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether any of these keys may belong to a stored comment. `false` is certain; `true`
    /// means the database must be asked.
    pub fn may_hold_any(&self, keys: &[u32]) -> bool {
        let state = self.state();
        let fresh = state
            .last_complete_read
            .is_some_and(|at| at.elapsed() < STALE_AFTER);
        !(state.complete && fresh) || keys.iter().any(|&key| state.keys.contains(key))
    }

    /// [`KeyIndex::may_hold_any`], after starting a refresh through `load` (see
    /// [`KeyIndex::refresh`]) in the background when one is due.
    pub fn check<F, Fut>(self: &Arc<Self>, keys: &[u32], load: F) -> bool
    where
        F: Fn(KeyRead, i64) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Vec<KeyedRow>, StorageError>> + Send,
    {
        if self.refresh_due() {
            let index = self.clone();
            tokio::spawn(async move {
                if let Err(e) = index.refresh(load).await {
                    tracing::warn!(error = %e, "cannot read comments for the duplicate and reputation checks");
                }
            });
        }
        self.may_hold_any(keys)
    }

    /// Records the keys of a comment this process stored or edited.
    pub fn add(&self, keys: &[u32]) {
        let mut state = self.state();
        for &key in keys {
            state.keys.insert(key);
        }
    }

    /// Claims the next refresh when one is due; the caller then runs [`KeyIndex::refresh`].
    pub fn refresh_due(&self) -> bool {
        let mut state = self.state();
        let due = !state.refreshing
            && state
                .last_refresh
                .is_none_or(|at| at.elapsed() >= REFRESH_EVERY);
        if due {
            state.refreshing = true;
        }
        due
    }

    /// Reads every row after the watermark, and every row edited since the last refresh, through
    /// `load(read, limit)` (see [`KeyRead`]) and takes their keys in. Called after [`KeyIndex::refresh_due`]
    /// said yes; a failed read leaves the index as it was, to be tried again.
    pub async fn refresh<F, Fut, E>(&self, load: F) -> Result<(), E>
    where
        F: Fn(KeyRead, i64) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<KeyedRow>, E>>,
    {
        // Ends the refresh however it ends, a cancelled or panicked task included, so the next
        // one is not locked out for good.
        struct Done<'a>(&'a KeyIndex);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                let mut state = self.0.state();
                state.refreshing = false;
                state.last_refresh = Some(Instant::now());
            }
        }
        let _done = Done(self);
        self.read_all(load).await
    }

    /// Merges the recent keys into the sorted ones when due, outside the lock: checks and
    /// inserts go on meanwhile. Only refreshes merge, one at a time.
    fn merge_if_due(&self) {
        let Some((sorted, recent)) = self.state().keys.merge_due() else {
            return;
        };
        let merged = merge(&sorted, recent.clone());
        drop(sorted);
        self.state().keys.install(merged, &recent);
    }

    async fn read_all<F, Fut, E>(&self, load: F) -> Result<(), E>
    where
        F: Fn(KeyRead, i64) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<KeyedRow>, E>>,
    {
        let (start, edits_since) = {
            let state = self.state();
            (state.watermark, state.edits_since.clone())
        };
        // Edits made from here on are the next refresh's (less the skew: see `EDIT_SKEW`).
        let next_edits_since = super::rfc3339_ago(EDIT_SKEW);
        let mut after = start;
        let mut ids = Vec::new();
        loop {
            let rows = load(KeyRead::After { id: after }, PAGE).await?;
            let full_page = rows.len() as i64 == PAGE;
            self.take_in(&rows);
            ids.extend(rows.iter().map(|row| row.id));
            // Only the newest ids can hold gaps worth waiting for: a first read of a million
            // rows keeps a thousand ids, not a million.
            if ids.len() > 2 * GAP_WINDOW as usize {
                ids.drain(..ids.len() - GAP_WINDOW as usize);
            }
            after = rows.last().map_or(after, |row| row.id);
            if !full_page {
                break;
            }
        }
        if let Some(mut at) = edits_since {
            let mut id = 0;
            loop {
                let rows = load(KeyRead::EditedSince { at: at.clone(), id }, PAGE).await?;
                self.take_in(&rows);
                let Some(last) = rows.last().filter(|_| rows.len() as i64 == PAGE) else {
                    break;
                };
                (at, id) = (last.edited_at.clone().unwrap_or_default(), last.id);
            }
        }
        let mut state = self.state();
        state.watermark = next_watermark(start, &ids, &mut state.gaps, Instant::now());
        state.edits_since = Some(next_edits_since);
        state.complete = true;
        state.last_complete_read = Some(Instant::now());
        Ok(())
    }

    /// Adds the keys of rows just read, then merges them in if due.
    fn take_in(&self, rows: &[KeyedRow]) {
        {
            let mut state = self.state();
            for row in rows {
                for &key in &row.keys {
                    state.keys.insert(key);
                }
            }
        }
        self.merge_if_due();
    }
}

/// A set of 32-bit keys in about 4 bytes each: a million comments leave two to four million
/// keys, which a hash set keeps in 5 bytes each plus its growth slack, twice that while it grows
/// (+25 MiB at a million comments, against the 128 MiB the server may use there). The keys are
/// hashes, so evenly spread: a sorted array with the start of each 16-bit prefix's run finds
/// one in a run of a few dozen. New keys wait in a small hash set and are merged in (one linear
/// pass, by the background refresh, outside the index's lock) once it holds a quarter as many as
/// the array.
#[derive(Default)]
struct KeySet {
    sorted: Arc<Vec<u32>>,
    /// Where each prefix's run starts in `sorted` (`PREFIXES + 1` entries, the last its length);
    /// empty while `sorted` is.
    starts: Arc<Vec<u32>>,
    recent: HashSet<u32>,
}

/// Runs of `sorted` indexed: one per value of a key's top 16 bits.
const PREFIXES: usize = 1 << 16;

impl KeySet {
    fn contains(&self, key: u32) -> bool {
        if self.recent.contains(&key) {
            return true;
        }
        let prefix = (key >> 16) as usize;
        match (self.starts.get(prefix), self.starts.get(prefix + 1)) {
            (Some(&from), Some(&to)) => self.sorted[from as usize..to as usize]
                .binary_search(&key)
                .is_ok(),
            _ => false,
        }
    }

    /// Adds a key; never merges, so a request that adds keys never waits for a merge.
    fn insert(&mut self, key: u32) {
        if !self.contains(key) {
            self.recent.insert(key);
        }
    }

    /// When the recent keys are due to be merged in: the sorted keys and a copy of the recent
    /// ones, to merge outside the lock ([`merge`]) and [`KeySet::install`] after.
    fn merge_due(&self) -> Option<(Arc<Vec<u32>>, Vec<u32>)> {
        (self.recent.len() >= (self.sorted.len() / 4).max(PREFIXES))
            .then(|| (self.sorted.clone(), self.recent.iter().copied().collect()))
    }

    /// Puts a merge's result in place. The keys it merged leave the recent set only now, so
    /// every key was found all along; keys added meanwhile stay there for the next merge.
    fn install(&mut self, (sorted, starts): (Vec<u32>, Vec<u32>), merged: &[u32]) {
        self.sorted = Arc::new(sorted);
        self.starts = Arc::new(starts);
        for key in merged {
            self.recent.remove(key);
        }
        self.recent.shrink_to(PREFIXES);
    }
}

/// `old` (sorted) and `new` merged, with the start of each prefix's run: linear in their
/// lengths, and run without the index's lock.
fn merge(old: &[u32], mut new: Vec<u32>) -> (Vec<u32>, Vec<u32>) {
    new.sort_unstable();
    let mut merged = Vec::with_capacity(old.len() + new.len());
    let (mut a, mut b) = (old.iter().copied().peekable(), new.into_iter().peekable());
    while let (Some(&x), Some(&y)) = (a.peek(), b.peek()) {
        if x <= y {
            merged.push(x);
            a.next();
        } else {
            merged.push(y);
            b.next();
        }
    }
    merged.extend(a);
    merged.extend(b);
    merged.dedup();
    let mut starts = Vec::with_capacity(PREFIXES + 1);
    let mut at = 0;
    for prefix in 0..=PREFIXES {
        while at < merged.len() && ((merged[at] >> 16) as usize) < prefix {
            at += 1;
        }
        starts.push(at as u32);
    }
    (merged, starts)
}

/// Where the next refresh starts, given the ids just read after `start` (ascending): past the
/// newest id, unless a recent gap among the newest ids may still fill, which is then re-read.
/// `gaps` keeps when each such gap was first seen.
fn next_watermark(start: i64, ids: &[i64], gaps: &mut HashMap<i64, Instant>, now: Instant) -> i64 {
    let Some(&newest) = ids.last() else {
        // Nothing new: the gaps waited on keep the watermark where it was, until they expire.
        gaps.retain(|_, seen| now.duration_since(*seen) < GAP_PATIENCE);
        return start;
    };
    let window_from = (newest - GAP_WINDOW).max(start);
    let mut missing = HashSet::new();
    let mut expected = window_from + 1;
    for &id in ids.iter().filter(|&&id| id > window_from) {
        missing.extend(expected..id);
        expected = id + 1;
    }
    gaps.retain(|id, _| missing.contains(id));
    for id in missing {
        gaps.entry(id).or_insert(now);
    }
    gaps.retain(|_, seen| now.duration_since(*seen) < GAP_PATIENCE);
    gaps.keys()
        .min()
        .map_or(newest, |&oldest_gap| oldest_gap - 1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_apart_where_one_part_ends() {
        assert_ne!(
            fingerprint(1, "ab", "c", "d"),
            fingerprint(1, "a", "bc", "d")
        );
        assert_ne!(fingerprint(1, "a", "b", "c"), fingerprint(2, "a", "b", "c"));
        assert_eq!(fingerprint(1, "a", "b", "c"), fingerprint(1, "a", "b", "c"));
        assert_ne!(email_key(1, "x.example"), domain_key(1, "x.example"));
    }

    #[test]
    fn a_comment_answers_to_its_sender_and_every_domain_it_names() {
        let comment = KeyedComment {
            site: 3,
            article: "/post",
            author_email: "seller@mail.example",
            author_url: Some("https://www.Shop.Example/deals"),
            user_ip: Some("203.0.113.7"),
            content: "Cheap at http://a.b.replica-best.top/x, also visit watches.shop. Thanks, e.g. you.",
        };
        let keys = comment.keys();
        for key in [
            fingerprint(3, "/post", "seller@mail.example", comment.content),
            email_key(3, "seller@mail.example"),
            address_key(3, "203.0.113.7"),
            domain_key(3, "shop.example"),
            domain_key(3, "a.b.replica-best.top"),
            domain_key(3, "b.replica-best.top"),
            domain_key(3, "replica-best.top"),
            domain_key(3, "watches.shop"),
        ] {
            assert!(keys.contains(&key));
        }
        // However a link is written, its domain is keyed.
        for (text, domain) in [
            ("[cheap](http://md.example/x)", "md.example"),
            ("[url=http://bb.example/x]here[/url]", "bb.example"),
            ("[url]https://bb2.example[/url]", "bb2.example"),
            ("<a href=http://attr.example/>x</a>", "attr.example"),
            ("(see http://paren.example/x)", "paren.example"),
            ("link:http://colon.example/x", "colon.example"),
            (
                "write to sales@mail-shop.example today",
                "mail-shop.example",
            ),
            ("a.example,list.example", "list.example"),
            ("http://dot.example./x", "dot.example"),
            ("WWW.Upper.Example/deal", "upper.example"),
        ] {
            let keys = KeyedComment {
                content: text,
                ..comment
            }
            .keys();
            assert!(keys.contains(&domain_key(3, domain)), "{text}");
        }
        let website = KeyedComment {
            author_url: Some("http://trailing.example./"),
            ..comment
        };
        assert!(website.keys().contains(&domain_key(3, "trailing.example")));
        // A text stuffed with domains adds a bounded number of keys, and says so.
        let stuffed: String = (0..500).map(|i| format!("q{i}.co ")).collect();
        let keys = KeyedComment {
            content: &stuffed,
            ..comment
        }
        .keys();
        assert!(keys.len() <= MAX_DOMAIN_KEYS + 4, "{}", keys.len());
        assert!(keys.contains(&domains_overflow_key(3)));
        let deep = format!("http://{}example.com/", "a.".repeat(120));
        let keys = KeyedComment {
            content: &deep,
            ..comment
        }
        .keys();
        assert!(keys.len() <= MAX_DOMAIN_KEYS + 4, "{}", keys.len());
        for absent in [
            domain_key(3, "top"),
            domain_key(3, "e.g"),
            domain_key(3, "mail.example"),
            email_key(4, "seller@mail.example"),
        ] {
            assert!(!keys.contains(&absent));
        }
    }

    #[test]
    fn nothing_is_ruled_out_before_the_first_full_read() {
        let index = KeyIndex::default();
        assert!(index.may_hold_any(&[7]));
        assert!(index.refresh_due());
        assert!(!index.refresh_due(), "one refresh at a time");
        let rows = [row(1, None, &[11, 21]), row(2, None, &[12])];
        let loaded = pollster(index.refresh(reader(&rows)));
        assert_eq!(loaded, Ok(()));
        assert!(index.may_hold_any(&[11]));
        assert!(index.may_hold_any(&[7, 21]));
        assert!(!index.may_hold_any(&[7]));
        assert!(!index.may_hold_any(&[]));
        index.add(&[7]);
        assert!(index.may_hold_any(&[7]));
        // An index left unrefreshed (an idle replica) sends every check to the database again.
        index.state().last_complete_read = Instant::now().checked_sub(STALE_AFTER);
        assert!(index.may_hold_any(&[8]));
        // A refresh that fails does not make it fresh again.
        let failed = pollster(index.refresh(|_, _| async { Err::<Vec<KeyedRow>, _>("down") }));
        assert_eq!(failed, Err("down"));
        assert!(index.may_hold_any(&[8]));
    }

    #[test]
    fn a_failed_read_leaves_checks_on_the_database() {
        let index = KeyIndex::default();
        assert!(index.refresh_due());
        let failed = pollster(index.refresh(|_, _| async { Err::<Vec<KeyedRow>, _>("down") }));
        assert_eq!(failed, Err("down"));
        assert!(index.may_hold_any(&[7]));
    }

    #[test]
    fn a_key_set_finds_every_key_it_was_given_before_and_after_merging() {
        let mut set = KeySet::default();
        let mut state = 0x9e37_79b9_u32;
        let mut given = Vec::new();
        for _ in 0..(PREFIXES * 3) {
            // xorshift: keys spread like hashes, some repeated.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let key = state;
            set.insert(key);
            given.push(key);
            if given.len() == 10 {
                // The extremes, early enough to be merged into the sorted keys.
                set.insert(u32::MAX);
                set.insert(0);
            }
            if let Some((sorted, recent)) = set.merge_due() {
                let merged = merge(&sorted, recent.clone());
                // A key added while the merge ran stays findable.
                set.insert(key ^ 1);
                given.push(key ^ 1);
                set.install(merged, &recent);
            }
        }
        assert!(!set.sorted.is_empty(), "merged at least once");
        assert!(
            set.sorted.binary_search(&0).is_ok() && set.sorted.binary_search(&u32::MAX).is_ok()
        );
        assert!(given.iter().all(|&key| set.contains(key)));
        assert!(set.contains(u32::MAX) && set.contains(0));
        let distinct: HashSet<u32> = given.iter().copied().chain([0, u32::MAX]).collect();
        assert_eq!(set.sorted.len() + set.recent.len(), distinct.len());
        let found_absent = (0..100_000u32)
            .map(|k| k.wrapping_mul(2_654_435_761))
            .filter(|k| !distinct.contains(k))
            .filter(|&k| set.contains(k))
            .count();
        assert_eq!(found_absent, 0);
    }

    #[test]
    fn a_recent_gap_is_read_again_until_it_fills_or_expires() {
        let now = Instant::now();
        let mut gaps = HashMap::new();
        // Rows 1..=10 but 8, which another replica has not committed yet.
        let ids: Vec<i64> = (1..=10).filter(|&id| id != 8).collect();
        assert_eq!(next_watermark(0, &ids, &mut gaps, now), 7);
        // It committed: read again from 7, the gap is gone.
        assert_eq!(next_watermark(7, &[8, 9, 10], &mut gaps, now), 10);
        assert!(gaps.is_empty());
        // A gap that never fills (a rolled-back insert) is given up after the patience.
        assert_eq!(next_watermark(10, &[12], &mut gaps, now), 10);
        let later = now + GAP_PATIENCE;
        assert_eq!(next_watermark(10, &[12], &mut gaps, later), 12);
        // Old gaps (erased comments far below the newest ids) never hold the watermark.
        let ids: Vec<i64> = (1..=5000).filter(|&id| id != 3).collect();
        assert_eq!(next_watermark(0, &ids, &mut HashMap::new(), now), 5000);
    }

    /// Runs a future that never waits to its end.
    fn row(id: i64, edited_at: Option<&str>, keys: &[u32]) -> KeyedRow {
        KeyedRow {
            id,
            edited_at: edited_at.map(str::to_string),
            keys: keys.to_vec(),
        }
    }

    /// A loader over `rows` as the database answers [`KeyRead`]s.
    pub(crate) fn reader(
        rows: &[KeyedRow],
    ) -> impl Fn(KeyRead, i64) -> std::future::Ready<Result<Vec<KeyedRow>, ()>> + '_ {
        move |read, limit| {
            let mut found: Vec<KeyedRow> = match &read {
                KeyRead::After { id } => rows.iter().filter(|r| r.id > *id).cloned().collect(),
                KeyRead::EditedSince { at, id } => rows
                    .iter()
                    .filter(|r| {
                        r.edited_at
                            .as_ref()
                            .is_some_and(|e| e > at || (e == at && r.id > *id))
                    })
                    .cloned()
                    .collect(),
            };
            if matches!(read, KeyRead::EditedSince { .. }) {
                found.sort_by(|a, b| (&a.edited_at, a.id).cmp(&(&b.edited_at, b.id)));
            }
            found.truncate(limit as usize);
            std::future::ready(Ok(found))
        }
    }

    #[test]
    fn an_edit_is_read_by_the_time_it_was_made() {
        let index = KeyIndex::default();
        let mut rows = vec![
            row(1, None, &[11]),
            row(2, Some("2000-01-01T00:00:00Z"), &[12]),
        ];
        assert_eq!(pollster(index.refresh(reader(&rows))), Ok(()));
        assert!(index.may_hold_any(&[12]) && !index.may_hold_any(&[99]));
        // Another replica edits row 1 now: no new id, so only reading edits finds its new keys.
        rows[0] = row(1, Some(&crate::storage::now_rfc3339()), &[11, 99]);
        let edits_asked = std::sync::Mutex::new(Vec::new());
        let read = reader(&rows);
        let spy = |what: KeyRead, limit| {
            if let KeyRead::EditedSince { at, .. } = &what {
                edits_asked.lock().unwrap().push(at.clone());
            }
            read(what, limit)
        };
        assert_eq!(pollster(index.refresh(spy)), Ok(()));
        assert!(index.may_hold_any(&[99]), "the edit's new key was not read");
        // Edits are asked for from shortly before the previous refresh began, not from the start.
        let asked = edits_asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 1);
        assert!(asked[0].as_str() > "2000-01-01T00:00:00Z", "{asked:?}");
        assert!(
            asked[0] <= crate::storage::rfc3339_ago(EDIT_SKEW),
            "{asked:?}"
        );
    }

    fn pollster<T>(future: impl std::future::Future<Output = T>) -> T {
        let future = std::pin::pin!(future);
        match future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(value) => value,
            std::task::Poll::Pending => panic!("the test's loader never waits"),
        }
    }
}
