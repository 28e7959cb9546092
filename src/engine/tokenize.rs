//! Streaming tokenizer. It walks a normalized comment once and hands each token to a callback as a
//! `(TokenKind, &str)` borrowed from buffers it owns and reuses, so scoring allocates nothing per
//! token (the tantivy `TokenStream` idea, with a closure instead of an iterator).
//!
//! Token families, and why each is there:
//! - `word`: alphanumeric runs, apostrophes dropped (`i'm` → `im`). The core bag of words.
//! - `bigram`: two consecutive words. Spam is formulaic ("check out", "my channel", "please
//!   subscribe", "call now"); pairs carry it where single words are common in ham.
//! - `host`, `domain`: each link (`http(s)://…`, `www.…`, or a bare `name.tld` with a known public
//!   suffix) reduced to its host and registrable domain (Public Suffix List), so `youtu.be/xyz123`
//!   generalizes to every video on that host instead of being a one-off word.
//! - `path`: the first path segment of a link (`watch`, `user`, `channel`): where on a host it points.
//! - `email`: domain of an e-mail address in the text.
//! - `number`: the shape of tokens with digits (`08712460324` → `ddddddddddd`, `150p` → `ddda`),
//!   because premium-rate numbers and prices vary but their shape does not.
//! - `punct`: runs of symbols (`!!!`, `$$`, emoji), capped at four characters: shouting and
//!   decoration are style signals that words miss.
//! - `prefix`: the first few characters of longer words (`subscribe`, `subscribed`, `subscribing`
//!   → `subsc`): a one-token-per-word stand-in for stemming that generalizes over inflections.
//! - `chars`: optional character n-grams inside words, robust to obfuscated spellings.
//! - `meta`: namespaced facts about the whole comment: length bucket, link count bucket, share of
//!   capitals, author URL host/domain, e-mail domain, comment type. They let the model learn that a
//!   link-heavy or all-caps comment is suspect, whatever its words.
//! - `author`: words of the author's display name (spam accounts name themselves after offers).

use super::normalize::{Normalizer, TextStats};
use crate::data::CommentView;
use serde::{Deserialize, Serialize};

/// The family of a token; its numeric value seeds the token hash, so equal text in two families
/// gives two different features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TokenKind {
    Word = 1,
    Bigram = 2,
    Host = 3,
    Domain = 4,
    Email = 5,
    Number = 6,
    Punct = 7,
    Chars = 8,
    Meta = 9,
    Author = 10,
    Path = 11,
    Prefix = 12,
    /// Metadata about where a comment sends its readers (the Website and e-mail fields); weighed
    /// like [`Meta`](TokenKind::Meta) and counted as sender evidence.
    Sender = 13,
}

impl TokenKind {
    /// Short name used when showing clues, e.g. `word:subscribe`.
    pub fn name(self) -> &'static str {
        match self {
            TokenKind::Word => "word",
            TokenKind::Bigram => "bigram",
            TokenKind::Host => "host",
            TokenKind::Domain => "domain",
            TokenKind::Email => "email",
            TokenKind::Number => "number",
            TokenKind::Punct => "punct",
            TokenKind::Chars => "chars",
            TokenKind::Meta => "meta",
            TokenKind::Author => "author",
            TokenKind::Path => "path",
            TokenKind::Prefix => "prefix",
            TokenKind::Sender => "sender",
        }
    }

    /// Whether tokens of this family say where the comment sends its readers: links in the text,
    /// e-mail addresses, number shapes (phone numbers, SMS short codes), the Website and e-mail
    /// fields. Only these can justify rejecting a comment
    /// outright (see `Thresholds::verdict`).
    #[inline]
    pub fn is_sender(self) -> bool {
        matches!(
            self,
            TokenKind::Host
                | TokenKind::Domain
                | TokenKind::Path
                | TokenKind::Email
                | TokenKind::Number
                | TokenKind::Sender
        )
    }
}

/// Which token families to produce; stored in the model so scoring tokenizes exactly as training did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizerConfig {
    /// Emit word bigrams.
    pub bigrams: bool,
    /// Length of character n-grams inside words; 0 disables them.
    pub char_ngrams: u8,
    /// Emit `meta` and `author` tokens.
    pub metadata: bool,
    /// Length of the `prefix` token of longer words (0 = off).
    #[serde(default)]
    pub prefix: u8,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        TokenizerConfig {
            bigrams: true,
            char_ngrams: 0,
            metadata: true,
            prefix: 5,
        }
    }
}

/// Reusable tokenizer state: normalization buffers and the scratch space tokens are built in.
#[derive(Debug, Default)]
pub struct Tokenizer {
    normalizer: Normalizer,
    text: String,
    field: String,
    word: String,
    prev_word: String,
    scratch: String,
}

const MAX_PUNCT_CHARS: usize = 4;
const MAX_SHAPE_CHARS: usize = 16;

impl Tokenizer {
    /// Streams every token of `comment` to `emit`.
    pub fn tokenize<F: FnMut(TokenKind, &str)>(
        &mut self,
        config: &TokenizerConfig,
        comment: CommentView<'_>,
        mut emit: F,
    ) {
        let Tokenizer {
            normalizer,
            text,
            field,
            word,
            prev_word,
            scratch,
        } = self;
        let stats = normalizer.normalize(comment.content, text);
        let links = scan_text(config, text, word, prev_word, scratch, &mut emit);
        if config.metadata {
            emit_meta(
                normalizer, comment, stats, links, field, word, scratch, &mut emit,
            );
        }
    }
}

/// The previous word, for the next bigram.
#[derive(Debug, Clone, Copy)]
enum PrevWord {
    /// None yet (start of text, or a link came in between).
    None,
    /// `text[start..end]`.
    InText { start: usize, end: usize },
    /// In the `prev_word` buffer (the word was rebuilt, e.g. without its apostrophes).
    Buffered,
}

/// Tokenizes normalized text; returns the number of links seen.
///
/// ASCII bytes are classified through [`ASCII_CLASS`]; other characters go through `char`'s
/// Unicode tables. Both give the same answer on ASCII (a unit test checks every byte).
fn scan_text<F: FnMut(TokenKind, &str)>(
    config: &TokenizerConfig,
    text: &str,
    word: &mut String,
    prev_word: &mut String,
    scratch: &mut String,
    emit: &mut F,
) -> u32 {
    let bytes = text.as_bytes();
    let mut bigrams = Bigrams {
        text,
        prev: PrevWord::None,
        buffer: prev_word,
    };
    let mut links = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let rest = &text[i..];
        let alphanumeric = if b < 0x80 {
            let class = ASCII_CLASS[usize::from(b)];
            if class & SPACE != 0 {
                i += 1;
                continue;
            }
            class & ALNUM != 0
        } else {
            let Some(c) = rest.chars().next() else { break };
            if c.is_whitespace() {
                i += c.len_utf8();
                continue;
            }
            c.is_alphanumeric()
        };
        if (b == b'h' || b == b'w') && starts_url(rest) {
            let end = rest
                .find(|ch: char| ch.is_whitespace() || matches!(ch, '<' | '>' | '"' | '\'' | ')'))
                .unwrap_or(rest.len());
            emit_url(&rest[..end], emit);
            links += 1;
            bigrams.prev = PrevWord::None;
            i += end;
            continue;
        }
        if alphanumeric {
            let Compound { end, plain, digits } = compound_end(rest);
            let compound = &rest[..end];
            if plain {
                // The common case: one plain word, emitted straight from the text.
                emit_word(
                    config,
                    compound,
                    digits,
                    WordAt::Text(i),
                    &mut bigrams,
                    scratch,
                    emit,
                );
                i += end;
                continue;
            }
            if compound.len() != compound_word_len(compound) {
                // `datetime.now(`, `path.join(`: a call in code, not an address.
                let call = rest[end..].starts_with('(');
                links += emit_compound(compound, call, emit);
            }
            // Pieces are separated by one joiner byte each, so their offsets follow.
            let mut piece_at = i;
            for piece in compound.split(['.', '-', '@', '_', '/', '+']) {
                let at = piece_at;
                piece_at += piece.len() + 1;
                if piece.is_empty() {
                    continue;
                }
                let digits = has_ascii_digit(piece);
                if !piece.contains('\'') {
                    let at = WordAt::Text(at);
                    emit_word(config, piece, digits, at, &mut bigrams, scratch, emit);
                    continue;
                }
                word.clear();
                word.extend(piece.chars().filter(|&ch| ch != '\''));
                if word.is_empty() {
                    continue;
                }
                let at = WordAt::Elsewhere;
                emit_word(config, word, digits, at, &mut bigrams, scratch, emit);
            }
            i += end;
            continue;
        }
        // A run of symbols up to the next letter, digit or space (links start with a letter).
        let end = rest
            .char_indices()
            .skip(1)
            .find(|&(_, ch)| ch.is_whitespace() || ch.is_alphanumeric())
            .map_or(rest.len(), |(at, _)| at);
        let run = &rest[..end];
        if is_meaningful_punct(run) {
            let cut = run
                .char_indices()
                .nth(MAX_PUNCT_CHARS)
                .map_or(run.len(), |(at, _)| at);
            emit(TokenKind::Punct, &run[..cut]);
        }
        i += end;
    }
    links
}

/// Class bits of ASCII bytes (non-ASCII bytes have none).
const ALNUM: u8 = 1;
const SPACE: u8 = 2;
const JOINER: u8 = 4;
const DIGIT: u8 = 8;

/// [`ALNUM`], [`SPACE`] (as `char::is_whitespace`), [`JOINER`] (joins a compound) and [`DIGIT`]
/// per byte.
static ASCII_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let byte = b as u8;
        table[b] = if byte.is_ascii_digit() {
            ALNUM | DIGIT
        } else if byte.is_ascii_alphanumeric() {
            ALNUM
        } else if matches!(byte, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            SPACE
        } else if matches!(byte, b'.' | b'-' | b'@' | b'_' | b'\'' | b'/' | b'+') {
            JOINER
        } else {
            0
        };
        b += 1;
    }
    table
};

/// Where a word's text lies, so a bigram of two neighbours can be cut from the text itself.
#[derive(Debug, Clone, Copy)]
enum WordAt {
    /// At this byte offset of the text being scanned.
    Text(usize),
    /// In a buffer (rebuilt without apostrophes).
    Elsewhere,
}

fn starts_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with("www.")
}

/// A run of alphanumerics joined by `.`, `-`, `@`, `_`, `'`, `/`, `+`, as found by [`compound_end`].
struct Compound {
    /// Its length in bytes.
    end: usize,
    /// True when the run is a plain word (no joiners at all).
    plain: bool,
    /// True when it has an ASCII digit.
    digits: bool,
}

/// The run of alphanumerics joined by `.`, `-`, `@`, `_`, `'`, `/`, `+` (each only between two
/// alphanumerics) at the start of `s`, so `murdev.com`, `me@mail.com` and `i'm` arrive as one
/// piece.
///
/// Plain ASCII letters and digits are taken 8 bytes at a time ([`ascii_alnum_run`]): most words
/// end inside their first 8 bytes, so the loop over them runs once instead of ending on a
/// mispredicted branch at a different byte for every word. Whatever comes after (a joiner, a
/// non-ASCII character, the last bytes of the text) goes through [`compound_rest`].
#[inline(always)]
fn compound_end(s: &str) -> Compound {
    let bytes = s.as_bytes();
    let mut at = 0;
    let mut digits = false;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let (run, has_digit) = ascii_alnum_run(u64::from_le_bytes(*chunk));
        digits |= has_digit;
        at += run;
        if run < 8 {
            break;
        }
    }
    compound_rest(s, at, digits)
}

/// Length of the leading run of ASCII letters and digits in 8 little-endian bytes (8 when all
/// are), and whether the run has a digit. Branch-free (SWAR range checks on each byte's low 7
/// bits; bytes with the top bit set are not ASCII and end the run).
#[inline(always)]
fn ascii_alnum_run(chunk: u64) -> (usize, bool) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const fn each(byte: u8) -> u64 {
        u64::from_le_bytes([byte; 8])
    }
    let low = chunk & LOW7;
    // Each byte is below 0x80, so adding 0x80 - k sets its top bit exactly when it is >= k, with
    // no carry into the next byte.
    let at_least = |k: u8| low + each(0x80 - k);
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    let folded = low | each(0x20);
    let folded_at_least = |k: u8| folded + each(0x80 - k);
    let letter = folded_at_least(b'a') & !folded_at_least(b'z' + 1);
    let alnum = (digit | letter) & !chunk & HIGH;
    let stop = !alnum & HIGH;
    // Bits below the first stop byte's top bit: the run's bytes (all of them when there is none).
    let in_run = stop.wrapping_sub(1) & !stop;
    (
        (stop.trailing_zeros() / 8) as usize,
        digit & HIGH & in_run != 0,
    )
}

/// [`compound_end`] from byte `at` on, where `s[..at]` are ASCII letters and digits (`digits`
/// tells whether one was a digit). ASCII is classified by table, one byte at a time.
fn compound_rest(s: &str, at: usize, digits: bool) -> Compound {
    let bytes = s.as_bytes();
    let mut i = at;
    let mut end = at;
    let mut plain = true;
    let mut classes = if digits { DIGIT } else { 0 };
    while let Some(&b) = bytes.get(i) {
        let class = ASCII_CLASS[usize::from(b)];
        if class & ALNUM != 0 {
            classes |= class;
            i += 1;
            end = i;
        } else if b < 0x80 {
            if class & JOINER != 0 && starts_alphanumeric(&s[i + 1..]) {
                plain = false;
                i += 1;
            } else {
                break;
            }
        } else {
            match s[i..].chars().next() {
                Some(ch) if ch.is_alphanumeric() => {
                    i += ch.len_utf8();
                    end = i;
                }
                _ => break,
            }
        }
    }
    Compound {
        end,
        plain,
        digits: classes & DIGIT != 0,
    }
}

fn has_ascii_digit(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
}

fn starts_alphanumeric(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_alphanumeric)
}

/// Length of the leading plain word (alphanumerics and apostrophes) of a compound.
fn compound_word_len(s: &str) -> usize {
    s.find(|ch: char| !(ch.is_alphanumeric() || ch == '\''))
        .unwrap_or(s.len())
}

/// Emits e-mail or bare-domain tokens for a compound such as `me@mail.com` or `murdev.com/x`.
/// Returns 1 when the compound is a link. A name followed by a parenthesis (`call` — a method
/// call in code) is none, nor is a bare file name (below).
fn emit_compound<F: FnMut(TokenKind, &str)>(compound: &str, call: bool, emit: &mut F) -> u32 {
    if let Some((_, domain)) = compound.split_once('@') {
        if domain.contains('.') {
            emit(TokenKind::Email, domain);
        }
        return 0;
    }
    let (host, path) = compound.split_once('/').unwrap_or((compound, ""));
    if call || is_file_name(host, path) {
        return 0;
    }
    if host.contains('.') && is_known_domain(host) {
        emit_host(host, emit);
        return 1;
    }
    0
}

/// Top-level domains that are also common file extensions: Python, Rust, shell, Perl, Markdown,
/// C++, shared objects, PostScript, archives, videos.
const FILE_EXTENSION_TLDS: [&str; 10] =
    ["py", "rs", "sh", "pl", "md", "cc", "so", "ps", "zip", "mov"];

/// Whether a bare name with no path is more likely a file than an address: `utils.py`,
/// `main.rs`, `setup.sh`, `README.md` — what developers write in comments, which counted as
/// links (sender evidence) and rejected a reader's stack trace. With a path, such a name is still
/// a link; with `www.` or a scheme (`https://allegro.pl`) it is a URL and never comes here.
fn is_file_name(host: &str, path: &str) -> bool {
    path.is_empty()
        && host.rsplit_once('.').is_some_and(|(_, tld)| {
            FILE_EXTENSION_TLDS
                .iter()
                .any(|e| tld.eq_ignore_ascii_case(e))
        })
}

/// True when `host` ends in a known public suffix and has a name before it (`murdev.com`, not
/// `3.5` or `e.g`).
fn is_known_domain(host: &str) -> bool {
    let tld = host.rsplit('.').next().unwrap_or("");
    tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
        && psl::suffix(host.as_bytes()).is_some_and(|s| s.is_known())
        && psl::domain_str(host).is_some()
}

/// Prefix of the Website field's host token (`author_url_host:vimeo.com`, a [`TokenKind::Sender`]).
pub const WEBSITE_HOST: &str = "author_url_host:";
/// Prefix of the Website field's registrable-domain token (`author_url_domain:example.co.uk`).
pub const WEBSITE_DOMAIN: &str = "author_url_domain:";

/// Whether a token names the host or domain of the comment's Website field.
pub fn is_website_host_token(kind: TokenKind, text: &str) -> bool {
    kind == TokenKind::Sender
        && (text.starts_with(WEBSITE_HOST) || text.starts_with(WEBSITE_DOMAIN))
}

/// Whether a Website names a page below its host's front page (a path or a query): one profile
/// or page among possibly thousands on a shared host (`vimeo.com/rosabakes`,
/// `github.com/alice-martin`), so the host says nothing about who wrote the comment. The one
/// test of it: the site's lessons (which leave such a host out), the server's website-path rule
/// and the reputation rules' shared-host case all ask here.
pub fn website_has_path(url: &str) -> bool {
    let (_, rest) = split_url(url.trim());
    let rest = rest.split('#').next().unwrap_or("");
    !rest.trim_start_matches('/').is_empty()
}

/// A web address without its `http(s)://` split into its authority (`user@host:port`) and the
/// rest (path, query, fragment; empty or starting with `/`, `?` or `#`).
pub fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    after_scheme.split_at(
        after_scheme
            .find(['/', '?', '#'])
            .unwrap_or(after_scheme.len()),
    )
}

fn emit_url<F: FnMut(TokenKind, &str)>(url: &str, emit: &mut F) {
    let (authority, path) = split_url(url);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host).trim_end_matches('.');
    if host.is_empty() {
        emit(TokenKind::Host, "(none)");
    } else {
        emit_host(host, emit);
    }
    // The first path segment tells a video (`/watch`) from a channel (`/user`, `/channel`) or a
    // shop page on the same host.
    let segment = path
        .trim_start_matches('/')
        .split(['/', '?', '#', '&', '='])
        .next()
        .unwrap_or("");
    if !segment.is_empty() && segment.len() <= 32 {
        emit(TokenKind::Path, segment);
    }
}

/// Most words taken from one Website's path and query.
const MAX_URL_WORDS: usize = 8;

/// Words of the Website's path and query (`/bhp/portable-blu-ray-player` → `portable`, `blu`, …),
/// letters only and at least 3 long, as `author_url_word:` tokens; and `author_url:author_words`
/// when the path repeats a word of the author's name, the mark of a keyword author linking its
/// keyword page.
fn emit_url_words<F: FnMut(TokenKind, &str)>(
    url: &str,
    author: Option<&str>,
    scratch: &mut String,
    emit: &mut F,
) {
    let (_, rest) = split_url(url);
    // The link's shape, the same across campaigns where a domain seen once teaches nothing about
    // the next one. Only the shapes of shop and profile pages are tokens: a query string
    // (`/?option=com_k2&view=itemlist&task=user&id=275500`) or a page two or more levels deep
    // (`/dp/B006U1YUJ0`, `/bhp/portable-blu-ray-player`). A front page or a one-level page
    // (`/blog`, `github.com/name`) is what readers link, and no ham corpus has a Website field
    // to learn that from, so those shapes stay silent rather than be learned as spam.
    let segments = rest
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .count();
    if rest.contains('?') {
        emit(TokenKind::Sender, "author_url_shape:query");
    } else if segments >= 2 {
        emit(TokenKind::Sender, "author_url_shape:deep");
    }
    if rest.is_empty() {
        return;
    }
    let mut repeats_author = false;
    for piece in rest
        .split(|c: char| !c.is_alphabetic())
        .filter(|p| p.chars().count() >= 3)
        .take(MAX_URL_WORDS)
    {
        scratch.clear();
        scratch.push_str("author_url_word:");
        scratch.push_str(piece);
        emit(TokenKind::Sender, scratch);
        if let Some(author) = author {
            repeats_author |= piece.chars().count() >= 4
                && author
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| w.eq_ignore_ascii_case(piece));
        }
    }
    if repeats_author {
        emit(TokenKind::Sender, "author_url:author_words");
    }
}

fn emit_host<F: FnMut(TokenKind, &str)>(host: &str, emit: &mut F) {
    emit(TokenKind::Host, host);
    if let Some(domain) = psl::domain_str(host)
        && domain != host
    {
        emit(TokenKind::Domain, domain);
    }
}

/// Emits `word` and the tokens made from it; `digits` tells whether it has an ASCII digit.
#[inline(always)]
fn emit_word<F: FnMut(TokenKind, &str)>(
    config: &TokenizerConfig,
    word: &str,
    digits: bool,
    at: WordAt,
    bigrams: &mut Bigrams<'_>,
    scratch: &mut String,
    emit: &mut F,
) {
    emit(TokenKind::Word, word);
    if digits {
        number_shape(word, scratch);
        emit(TokenKind::Number, scratch);
    }
    if config.bigrams {
        bigrams.push(word, at, scratch, emit);
    }
    let prefix = usize::from(config.prefix);
    if prefix > 0 && word.len() > prefix {
        if word.as_bytes()[..prefix].is_ascii() {
            emit(TokenKind::Prefix, &word[..prefix]);
        } else if let Some((cut, _)) = word.char_indices().nth(prefix) {
            emit(TokenKind::Prefix, &word[..cut]);
        }
    }
    if config.char_ngrams > 0 {
        emit_char_ngrams(word, usize::from(config.char_ngrams), scratch, emit);
    }
}

/// The chain of words bigrams are made of: the text being scanned and where its last word is.
struct Bigrams<'a> {
    text: &'a str,
    prev: PrevWord,
    /// Holds the previous word when it is not a slice of `text` ([`PrevWord::Buffered`]).
    buffer: &'a mut String,
}

impl Bigrams<'_> {
    /// Emits the bigram `previous word` (when there is a previous word) and makes `word` the
    /// previous one.
    #[inline(always)]
    fn push<F: FnMut(TokenKind, &str)>(
        &mut self,
        word: &str,
        at: WordAt,
        scratch: &mut String,
        emit: &mut F,
    ) {
        let text = self.text;
        match (self.prev, at) {
            (PrevWord::None, _) => {}
            // `prev word` is already in the text when one space separates them (most pairs).
            (PrevWord::InText { start, end }, WordAt::Text(word_at))
                if word_at == end + 1 && text.as_bytes().get(end) == Some(&b' ') =>
            {
                emit(TokenKind::Bigram, &text[start..word_at + word.len()]);
            }
            (PrevWord::InText { start, end }, _) => {
                emit_joined(&text[start..end], word, scratch, emit)
            }
            (PrevWord::Buffered, _) => emit_joined(self.buffer, word, scratch, emit),
        }
        self.prev = match at {
            WordAt::Text(start) => PrevWord::InText {
                start,
                end: start + word.len(),
            },
            WordAt::Elsewhere => {
                self.buffer.clear();
                self.buffer.push_str(word);
                PrevWord::Buffered
            }
        };
    }
}

/// Emits the bigram `first second`, built in `scratch`.
fn emit_joined<F: FnMut(TokenKind, &str)>(
    first: &str,
    second: &str,
    scratch: &mut String,
    emit: &mut F,
) {
    scratch.clear();
    scratch.push_str(first);
    scratch.push(' ');
    scratch.push_str(second);
    emit(TokenKind::Bigram, scratch);
}

/// Shape of a token with digits: each digit becomes `d`, each run of other characters one `a`.
fn number_shape(word: &str, out: &mut String) {
    out.clear();
    let mut in_letters = false;
    for ch in word.chars() {
        if out.len() >= MAX_SHAPE_CHARS {
            break;
        }
        if ch.is_ascii_digit() {
            out.push('d');
            in_letters = false;
        } else if !in_letters {
            out.push('a');
            in_letters = true;
        }
    }
}

/// Character n-grams of ` word ` (with boundary spaces, like scikit-learn's `char_wb`).
fn emit_char_ngrams<F: FnMut(TokenKind, &str)>(
    word: &str,
    n: usize,
    scratch: &mut String,
    emit: &mut F,
) {
    scratch.clear();
    scratch.push(' ');
    scratch.push_str(word);
    scratch.push(' ');
    for (from, _) in scratch.char_indices() {
        match scratch[from..].char_indices().nth(n) {
            Some((len, _)) => emit(TokenKind::Chars, &scratch[from..from + len]),
            None => {
                if scratch[from..].chars().count() == n {
                    emit(TokenKind::Chars, &scratch[from..]);
                }
                break;
            }
        }
    }
}

fn is_meaningful_punct(run: &str) -> bool {
    let mut chars = run.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => !matches!(
            c,
            '.' | ',' | '\'' | '"' | '-' | ':' | ';' | '(' | ')' | '/'
        ),
        (Some(_), Some(_)) => true,
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_meta<F: FnMut(TokenKind, &str)>(
    normalizer: &mut Normalizer,
    comment: CommentView<'_>,
    stats: TextStats,
    links: u32,
    field: &mut String,
    word: &mut String,
    scratch: &mut String,
    emit: &mut F,
) {
    let length = match stats.chars {
        0..20 => "len:<20",
        20..50 => "len:<50",
        50..100 => "len:<100",
        100..200 => "len:<200",
        200..400 => "len:<400",
        400..800 => "len:<800",
        _ => "len:800+",
    };
    emit(TokenKind::Meta, length);
    // How many links the text has; one or more is where the comment sends its readers, so those
    // are sender tokens.
    match links {
        0 => emit(TokenKind::Meta, "links:0"),
        1 => emit(TokenKind::Sender, "links:1"),
        2 => emit(TokenKind::Sender, "links:2"),
        _ => emit(TokenKind::Sender, "links:3+"),
    }
    if stats.letters >= 6 {
        let caps = match stats.uppercase * 100 / stats.letters {
            0..10 => "caps:<10%",
            10..30 => "caps:<30%",
            30..60 => "caps:<60%",
            _ => "caps:60%+",
        };
        emit(TokenKind::Meta, caps);
    }
    if let Some(author) = comment.author.filter(|a| !a.trim().is_empty()) {
        normalizer.normalize(author, field);
        for piece in field.split(|ch: char| !ch.is_alphanumeric()) {
            if !piece.is_empty() {
                emit(TokenKind::Author, piece);
            }
        }
        if field.bytes().any(|b| b.is_ascii_digit()) {
            emit(TokenKind::Meta, "author:digits");
        }
    }
    // The Website field. No token says only that it is filled in: no ham corpus has the field,
    // so such a token would learn the corpus (every blog-spam row has one) rather than spam, and
    // reject every reader who links a homepage. What the link says does carry signal: a shop's
    // host, a keyword path (`/bhp/portable-blu-ray-player`), the author's keywords in it.
    if let Some(url) = comment.author_url.map(str::trim).filter(|u| !u.is_empty()) {
        normalizer.normalize(url, field);
        let mut meta_url = |kind: TokenKind, part: &str| {
            scratch.clear();
            scratch.push_str(match kind {
                TokenKind::Host => WEBSITE_HOST,
                TokenKind::Domain => WEBSITE_DOMAIN,
                _ => "author_url_path:",
            });
            scratch.push_str(part);
            emit(TokenKind::Sender, scratch);
        };
        emit_url(field, &mut meta_url);
        emit_url_words(field, comment.author, word, emit);
    }
    if let Some(email) = comment
        .author_email
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        normalizer.normalize(email, field);
        let domain = field.rsplit_once('@').map_or("(invalid)", |(_, d)| d);
        word.clear();
        word.push_str("author_email_domain:");
        word.push_str(domain);
        emit(TokenKind::Sender, word);
    }
    // Only a type other than an ordinary comment says something (a pingback, a trackback): every
    // reader's comment on a site is a `comment`, so learned from a site's few corrections (mostly
    // spam) that token became spam evidence against every reader.
    if let Some(kind) = comment
        .comment_type
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("comment"))
    {
        normalizer.normalize(kind, field);
        word.clear();
        word.push_str("type:");
        word.push_str(field);
        emit(TokenKind::Meta, word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens_with(config: TokenizerConfig, comment: CommentView<'_>) -> Vec<String> {
        let mut t = Tokenizer::default();
        let mut out = Vec::new();
        t.tokenize(&config, comment, |kind, text| {
            out.push(format!("{}:{}", kind.name(), text))
        });
        out
    }

    #[test]
    fn eight_byte_run_agrees_with_the_byte_table_for_every_byte_and_position() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                let mut chunk = *b"ab3defgh";
                chunk[position] = byte;
                let (run, digits) = ascii_alnum_run(u64::from_le_bytes(chunk));
                let expected = chunk
                    .iter()
                    .position(|&b| ASCII_CLASS[usize::from(b)] & ALNUM == 0)
                    .unwrap_or(8);
                assert_eq!(run, expected, "byte {byte:#04x} at {position}");
                let digit_in_run = chunk[..expected].iter().any(u8::is_ascii_digit);
                assert_eq!(digits, digit_in_run, "byte {byte:#04x} at {position}");
            }
        }
    }

    #[test]
    fn compound_fast_path_matches_the_byte_loop() {
        // Pseudo-random strings over letters, digits, joiners, spaces, controls and non-ASCII
        // letters and digits; the fast path must find the same end, flags and digits.
        let alphabet = [
            "a",
            "Z",
            "5",
            "0",
            " ",
            ".",
            "'",
            "-",
            "@",
            "/",
            "!",
            "\u{10}",
            "é",
            "ｚ",
            "٣",
            "\u{1F600}",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut text = String::new();
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let len = 1 + (state >> 59) as usize;
            for _ in 0..len {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                // Mostly letters, as in real words, so runs longer than 8 bytes occur.
                let pick = (state >> 58) as usize;
                text.push_str(if pick < 40 {
                    "a"
                } else {
                    alphabet[pick % alphabet.len()]
                });
            }
            let fast = compound_end(&text);
            let slow = compound_rest(&text, 0, false);
            assert_eq!(
                (fast.end, fast.plain, fast.digits),
                (slow.end, slow.plain, slow.digits),
                "{text:?}"
            );
        }
    }

    fn tokens(text: &str) -> Vec<String> {
        tokens_with(
            TokenizerConfig {
                metadata: false,
                prefix: 0,
                ..TokenizerConfig::default()
            },
            CommentView::text(text),
        )
    }

    #[test]
    fn words_and_bigrams() {
        assert_eq!(
            tokens("Check out MY channel"),
            [
                "word:check",
                "word:out",
                "bigram:check out",
                "word:my",
                "bigram:out my",
                "word:channel",
                "bigram:my channel"
            ]
        );
    }

    #[test]
    fn apostrophes_are_dropped_inside_words() {
        assert_eq!(tokens("I'm"), ["word:im"]);
    }

    #[test]
    fn urls_become_host_and_domain() {
        let t = tokens("see https://www.Example.co.uk/watch?v=1 now");
        assert!(t.contains(&"host:www.example.co.uk".to_string()), "{t:?}");
        assert!(t.contains(&"domain:example.co.uk".to_string()), "{t:?}");
        assert!(t.contains(&"path:watch".to_string()), "{t:?}");
        assert!(!t.iter().any(|x| x.starts_with("word:watch")), "{t:?}");
        // the link breaks the bigram chain
        assert!(!t.contains(&"bigram:see now".to_string()), "{t:?}");
    }

    #[test]
    fn file_names_and_calls_are_not_links() {
        let links = |text: &str| {
            tokens(text)
                .into_iter()
                .filter(|t| t.starts_with("host:"))
                .collect::<Vec<_>>()
        };
        for code in [
            "Renaming utils.py to helpers.py fixed the circular import",
            "Edit setup.py and main.rs then run config.sh, see README.md",
            "call datetime.now() and os.path.join(a, b)",
        ] {
            assert!(links(code).is_empty(), "{code}: {:?}", links(code));
        }
        for link in [
            "see allegro.pl/oferta for it",
            "see https://allegro.pl",
            "visit murdev.com today",
        ] {
            assert_eq!(links(link).len(), 1, "{link}: {:?}", links(link));
        }
    }

    #[test]
    fn bare_domains_and_emails() {
        let t = tokens("visit murdev.com or mail me@mail.example.org, v3.5 e.g");
        assert!(t.contains(&"host:murdev.com".to_string()), "{t:?}");
        assert!(t.contains(&"email:mail.example.org".to_string()), "{t:?}");
        assert!(!t.iter().any(|x| x.starts_with("host:v3")), "{t:?}");
        assert!(!t.iter().any(|x| x.starts_with("host:e.g")), "{t:?}");
    }

    #[test]
    fn number_shapes() {
        let t = tokens("call 08712460324 for 150p");
        assert!(t.contains(&"number:ddddddddddd".to_string()), "{t:?}");
        assert!(t.contains(&"number:ddda".to_string()), "{t:?}");
    }

    #[test]
    fn punctuation_runs_are_capped() {
        let t = tokens("wow!!!!!! ok. $$ :)");
        assert!(t.contains(&"punct:!!!!".to_string()), "{t:?}");
        assert!(t.contains(&"punct:$$".to_string()), "{t:?}");
        assert!(t.contains(&"punct::)".to_string()), "{t:?}");
        assert!(!t.contains(&"punct:.".to_string()), "{t:?}");
    }

    #[test]
    fn char_ngrams_with_word_boundaries() {
        let config = TokenizerConfig {
            bigrams: false,
            char_ngrams: 4,
            metadata: false,
            prefix: 0,
        };
        let t = tokens_with(config, CommentView::text("spam"));
        assert_eq!(t, ["word:spam", "chars: spa", "chars:spam", "chars:pam "]);
    }

    #[test]
    fn metadata_tokens() {
        let view = CommentView {
            content: "FREE MONEY FOR EVERYONE NOW http://x.io",
            author: Some("Cheap Pills 4U"),
            author_email: Some("x@Mail.example.net"),
            author_url: Some("https://shop.example.biz/"),
            user_agent: None,
            comment_type: Some("pingback"),
        };
        let t = tokens_with(TokenizerConfig::default(), view);
        let ordinary = tokens_with(
            TokenizerConfig::default(),
            CommentView {
                comment_type: Some("Comment"),
                ..view
            },
        );
        assert!(
            !ordinary.iter().any(|t| t.starts_with("meta:type:")),
            "an ordinary comment has no type token: {ordinary:?}"
        );
        for want in [
            "meta:len:<50",
            "sender:links:1",
            "meta:caps:60%+",
            "author:pills",
            "meta:author:digits",
            "sender:author_url_host:shop.example.biz",
            "sender:author_url_domain:example.biz",
            "sender:author_email_domain:mail.example.net",
            "meta:type:pingback",
        ] {
            assert!(t.contains(&want.to_string()), "missing {want} in {t:?}");
        }
    }

    #[test]
    fn ascii_classes_agree_with_char_methods() {
        for b in 0u8..128 {
            let c = char::from(b);
            let class = ASCII_CLASS[usize::from(b)];
            assert_eq!(class & ALNUM != 0, c.is_alphanumeric(), "{b:#x}");
            assert_eq!(class & SPACE != 0, c.is_whitespace(), "{b:#x}");
        }
        assert!((128..256).all(|b| ASCII_CLASS[b] == 0));
    }

    #[test]
    fn bigrams_across_odd_separators_are_joined_by_one_space() {
        assert_eq!(
            tokens("a  b\tc, d'e f-g"),
            [
                "word:a",
                "word:b",
                "bigram:a b",
                "word:c",
                "bigram:b c",
                "word:de",
                "bigram:c de",
                "word:f",
                "bigram:de f",
                "word:g",
                "bigram:f g",
            ]
        );
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "",
            "@",
            "http://",
            "www.",
            "a.b.c.d.e",
            "'''",
            "é@",
            "x.",
            "🙂🙂",
            "a-",
            "-a",
        ] {
            let _ = tokens(text);
        }
    }
}
