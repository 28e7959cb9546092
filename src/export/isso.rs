//! `export --format isso`: one site's threads and comments as an Isso database, the SQLite file
//! Isso's `[general] dbpath` names, for a site that moves (back) to Isso with its history.
//!
//! The schema is Isso's own at its version 5 (`PRAGMA user_version`), what Isso 0.14 (the
//! version the tests serve it with) opens without migrating; Isso adds its preferences (session
//! key) and its trigger itself on first start. Published comments are accepted, comments waiting
//! for a moderator pending; spam and trash are not exported, except as Isso's own "deleted"
//! placeholder (no text, no author) when exported replies hang under them, so every reply keeps
//! its place. Isso nests one level: a reply to a reply hangs under the top-level comment, as
//! Isso's own migration to version 3 does. Addresses are kept as Isso keeps them (IPv4 to /24, IPv6 to /48),
//! and each comment's voter filter holds its author's address, as Isso sets it, so the author
//! cannot like their own comment; likes and dislikes are the totals counted here.

use super::{Counts, ExportError, Source};
use crate::articles::Article;
use crate::domain::isso::{IssoMode, unix_seconds};
use crate::domain::{Status, TextFormat};
use crate::storage::ExportComment;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Isso's database version this schema is.
const ISSO_VERSION: i64 = 5;

const SCHEMA: &str = "
    CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
    CREATE TABLE comments (
        tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
        created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,
        text VARCHAR NOT NULL, author VARCHAR, email VARCHAR, website VARCHAR,
        likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,
        notification INTEGER DEFAULT 0);
    CREATE TABLE preferences (key VARCHAR PRIMARY KEY, value VARCHAR);
";

/// One page of the site to export: its Isso uri, title, and the keys its comments are stored
/// under (an article's slug, a thread's path; both when an article's address is a thread's).
struct Page {
    uri: String,
    title: String,
    keys: Vec<String>,
}

/// Writes the source's site's threads and the articles its comments are on (at the path of
/// their address under `site_url`) into a new Isso database at `path` (an empty or new file).
/// A page without a comment of the site is left out.
pub fn write(
    source: &Source<'_>,
    files: &[Article],
    site_url: &str,
    path: &Path,
) -> Result<Counts, ExportError> {
    let rt = source.rt;
    // An article at a thread's address (an imported post the site now embeds comments on) is
    // one Isso page with both's comments.
    let mut pages: Vec<Page> = Vec::new();
    let mut by_uri: HashMap<String, usize> = HashMap::new();
    for item in super::items(source, files, site_url)? {
        // Isso serves any thread to anyone who names its uri: a hidden article (a draft, a
        // private or password-protected post) has no page there, nor its comments.
        if !item.article.public {
            continue;
        }
        match by_uri.get(&item.path) {
            Some(&at) => pages[at].keys.push(item.key),
            None => {
                by_uri.insert(item.path.clone(), pages.len());
                pages.push(Page {
                    uri: item.path,
                    title: item.article.title,
                    keys: vec![item.key],
                });
            }
        }
    }

    let mut db = Connection::open(path)?;
    db.execute_batch(SCHEMA)?;
    db.pragma_update(None, "user_version", ISSO_VERSION)?;
    let tx = db.transaction()?;
    let mut insert_thread = tx.prepare("INSERT INTO threads (uri, title) VALUES (?1, ?2)")?;
    let mut insert_comment = tx.prepare(
        "INSERT INTO comments (tid, id, parent, created, modified, mode, remote_addr, text, \
         author, email, website, likes, dislikes, voters, notification) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    let mut counts = Counts::default();
    for page in &pages {
        let mut comments: Vec<ExportComment> = Vec::new();
        for key in &page.keys {
            super::each_comment(source, Some(key), |c| {
                comments.push(c.clone());
                Ok(())
            })?;
        }
        comments.sort_by_key(|c| c.comment.id);
        let rows = isso_rows(&comments);
        if rows.is_empty() {
            continue;
        }
        // Edit times of published and waiting comments, votes of published ones.
        let shown: Vec<i64> = rows
            .iter()
            .filter(|r| r.mode != IssoMode::Deleted)
            .map(|r| r.comment.id)
            .collect();
        let extras: HashMap<i64, _> = rt
            .block_on(source.store.comment_extras(&shown))?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let tid = insert_thread.insert(params![page.uri, page.title])?;
        counts.articles += 1;
        for row in rows {
            let c = row.comment;
            let address = anonymize(c.user_ip.as_deref().unwrap_or_default());
            let extra = extras.get(&c.id);
            let placeholder = row.mode == IssoMode::Deleted;
            let notification = !placeholder
                && !c.author_email.is_empty()
                && wants_replies(source, c.id, c.site_id)?;
            insert_comment.execute(params![
                tid,
                c.id,
                row.parent,
                unix_seconds(&c.created_at),
                extra.and_then(|e| e.edited_at.as_deref()).map(unix_seconds),
                row.mode.number(),
                address,
                if placeholder {
                    String::new()
                } else {
                    isso_text(c)
                },
                // Isso stores these escaped and its widget puts them in the page as they are:
                // raw, a reader's name would be markup on the blog. Python's `html.escape`
                // (`quote=False` for name and address, `True` for the website) escapes exactly
                // what `encode_text` and `encode_quoted_attribute` do.
                (!placeholder).then(|| html_escape::encode_text(&c.author).into_owned()),
                (!placeholder && !c.author_email.is_empty())
                    .then(|| html_escape::encode_text(&c.author_email).into_owned()),
                if placeholder {
                    None
                } else {
                    c.author_url
                        .as_deref()
                        .map(|url| html_escape::encode_quoted_attribute(url).into_owned())
                },
                extra.map_or(0, |e| e.votes.likes as i64),
                extra.map_or(0, |e| e.votes.dislikes as i64),
                voters_of(&address).to_vec(),
                i64::from(notification),
            ])?;
            if !placeholder {
                counts.comments += 1;
            }
        }
    }
    drop((insert_thread, insert_comment));
    tx.commit()?;
    Ok(counts)
}

/// Whether comment `id`'s author hears of replies to it: they asked, have not unsubscribed, and
/// their address confirmed it wants these e-mails from the site. Isso's `notification` then
/// carries the consent over; Isso asks no confirmation, so an unconfirmed request is not one.
fn wants_replies(source: &Source<'_>, id: i64, site: i64) -> Result<bool, ExportError> {
    Ok(source
        .rt
        .block_on(source.store.reply_subscriber(id))?
        .is_some_and(|s| s.confirmed && s.site_id == site))
}

/// A comment as Isso will hold it.
struct IssoRow<'a> {
    comment: &'a crate::storage::StoredComment,
    mode: IssoMode,
    /// Its top-level ancestor (Isso nests one level).
    parent: Option<i64>,
}

/// A page's comments as Isso rows, in id order: published and held ones, and the spam or trash
/// they reply to as placeholders.
fn isso_rows(comments: &[ExportComment]) -> Vec<IssoRow<'_>> {
    let by_id: HashMap<i64, &crate::storage::StoredComment> = comments
        .iter()
        .map(|c| (c.comment.id, &c.comment))
        .collect();
    let top_of = |id: i64| {
        let mut top = id;
        for _ in 0..=comments.len() {
            match by_id.get(&top).and_then(|c| c.parent_id) {
                Some(parent) if by_id.contains_key(&parent) => top = parent,
                _ => break,
            }
        }
        top
    };
    let tops: Vec<i64> = comments.iter().map(|c| top_of(c.comment.id)).collect();
    // Every comment that is exported, and the top-level comment each hangs under: a removed one
    // stays as a placeholder only there (Isso deletes childless placeholders itself).
    let mut kept: HashSet<i64> = HashSet::new();
    for (c, &top) in comments.iter().zip(&tops) {
        if IssoMode::of(c.comment.status) != IssoMode::Deleted {
            kept.insert(c.comment.id);
            kept.insert(top);
        }
    }
    comments
        .iter()
        .zip(tops)
        .filter(|(c, _)| kept.contains(&c.comment.id))
        .map(|(c, top)| {
            let c = &c.comment;
            let top_mode = by_id.get(&top).map(|t| IssoMode::of(t.status));
            IssoRow {
                comment: c,
                mode: IssoMode::of(c.status),
                // Isso shows no reply of a comment that waits for a moderator: a reply published
                // here under one is a top-level comment there, seen as it is here.
                parent: (top != c.id
                    && !(top_mode == Some(IssoMode::Pending) && c.status == Status::Published))
                    .then_some(top),
            }
        })
        .collect()
}

/// A comment's text as Isso's Markdown source that renders what replyguard shows: Markdown
/// written in Isso's widget as it is; plain text
/// with every character Markdown would read as formatting escaped (Isso renders the `text`
/// column as Markdown, escaping raw HTML); an imported comment's HTML (already sanitized on
/// import to WordPress's comment tags) in the Markdown of its paragraphs, line breaks, emphasis,
/// code and links.
fn isso_text(c: &crate::storage::StoredComment) -> String {
    match c.format() {
        TextFormat::Html => html_to_markdown(&c.content),
        // Isso's own kind of text: as its author wrote it.
        TextFormat::Markdown => c.content.clone(),
        TextFormat::Plain => markdown_literal(&c.content),
    }
}

/// Plain text that Markdown renders as itself: `\ ` * _ [ ] ~ | ^ <` escaped anywhere (`<` would
/// start an autolink), what starts a heading, quote, list or rule at the start of a line, and
/// indentation that would start a code block shortened to one space.
fn markdown_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let indent = line.len() - line.trim_start().len();
        let (lead, rest) = line.split_at(indent);
        // Four columns of indentation start a code block; HTML shows one space anyway.
        let columns: usize = lead.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum();
        out.push_str(if columns >= 4 { " " } else { lead });
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        for (i, ch) in rest.char_indices() {
            let starts_block = i == 0 && matches!(ch, '#' | '>' | '-' | '+' | '=');
            let ends_number = digits > 0 && i == digits && matches!(ch, '.' | ')');
            if starts_block
                || ends_number
                || matches!(
                    ch,
                    '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '|' | '^' | '<'
                )
            {
                out.push('\\');
            }
            out.push(ch);
        }
    }
    out
}

/// Sanitized comment HTML (ammonia's output: text escaped, the comment tags) as Markdown:
/// paragraphs, line breaks, emphasis, strikethrough, sub- and superscript, code spans and
/// blocks (their text as it is: escapes do not work in code), quotes (`> ` before each line),
/// lists and links. Tags without a Markdown form keep only their text.
fn html_to_markdown(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut links: Vec<String> = Vec::new();
    // Where each open quote starts in `out`; each open list (ordered?) and its items so far.
    let mut quotes: Vec<usize> = Vec::new();
    let mut lists: Vec<(bool, u32)> = Vec::new();
    // The text of the open code span or block, and whether a `<pre>` is open.
    let mut code: Option<String> = None;
    let mut pre = false;
    let mut rest = html;
    while !rest.is_empty() {
        let open = rest.find('<').unwrap_or(rest.len());
        let text = html_escape::decode_html_entities(&rest[..open]);
        match code.as_mut() {
            Some(code) => code.push_str(&text),
            None => out.push_str(&markdown_literal(&text)),
        }
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            // In a `<pre>`, the block's text is the code whether or not `<code>` wraps it.
            ("code", false) if pre => {}
            ("code" | "pre", false) => {
                pre |= name == "pre";
                code = Some(String::new());
            }
            ("code", true) if pre => {}
            ("code" | "pre", true) => {
                let text = code.take().unwrap_or_default();
                if std::mem::take(&mut pre) {
                    // A fence longer than any run of backticks inside, three at least.
                    let fence = "`".repeat(longest_run(&text, '`').max(2) + 1);
                    out.push_str(&format!("\n\n{fence}\n"));
                    out.push_str(text.trim_end_matches('\n'));
                    out.push_str(&format!("\n{fence}\n\n"));
                } else {
                    // A fence longer than any run of backticks inside.
                    let fence = "`".repeat(longest_run(&text, '`') + 1);
                    let pad = if text.starts_with('`') || text.ends_with('`') {
                        " "
                    } else {
                        ""
                    };
                    out.push_str(&format!("{fence}{pad}{text}{pad}{fence}"));
                }
            }
            _ if code.is_some() => {}
            ("p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6", _) => out.push_str("\n\n"),
            ("br", _) => out.push('\n'),
            ("hr", _) => out.push_str("\n\n---\n\n"),
            ("strong" | "b", _) => out.push_str("**"),
            ("em" | "i", _) => out.push('*'),
            ("del" | "s" | "strike", _) => out.push_str("~~"),
            ("sub", _) => out.push('~'),
            ("sup", _) => out.push('^'),
            ("blockquote", false) => {
                out.push_str("\n\n");
                quotes.push(out.len());
            }
            ("blockquote", true) => {
                let start = quotes.pop().unwrap_or(out.len()).min(out.len());
                let quoted: String = out[start..]
                    .trim()
                    .lines()
                    .map(|line| format!("> {line}\n"))
                    .collect();
                out.truncate(start);
                out.push_str(&quoted);
                out.push('\n');
            }
            ("ul" | "ol", false) => {
                out.push_str("\n\n");
                // An ordered list counts on from its `start`.
                let start = attribute(tag, "start")
                    .and_then(|s| s.parse::<u32>().ok())
                    .unwrap_or(1);
                lists.push((name == "ol", start.saturating_sub(1)));
            }
            ("ul" | "ol", true) => {
                lists.pop();
                out.push_str("\n\n");
            }
            ("li", false) => {
                let depth = lists.len().saturating_sub(1);
                let marker = match lists.last_mut() {
                    Some((true, n)) => {
                        *n += 1;
                        format!("{n}. ")
                    }
                    _ => "- ".to_string(),
                };
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&"    ".repeat(depth));
                out.push_str(&marker);
            }
            ("li", true) => out.push('\n'),
            ("a", false) => {
                links.push(href_of(tag).unwrap_or_default());
                out.push('[');
            }
            ("a", true) => {
                let href = links.pop().unwrap_or_default();
                out.push_str("](");
                // Both parentheses escaped: a lone `%29` left `(` to end the address early.
                out.push_str(
                    &href
                        .replace('(', "%28")
                        .replace(')', "%29")
                        .replace(' ', "%20"),
                );
                out.push(')');
            }
            _ => {}
        }
    }
    if let Some(text) = code {
        out.push_str(&markdown_literal(&text));
    }
    // Blank lines no paragraph needs (a code block keeps its own, and its trailing spaces).
    let mut tidy = String::with_capacity(out.len());
    let mut fence: Option<String> = None;
    for line in out.trim().split('\n') {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match &fence {
            Some(open) if line == open.as_str() => fence = None,
            Some(_) => {
                tidy.push_str(line);
                tidy.push('\n');
                continue;
            }
            None if ticks >= 3 && line.trim_start_matches('`').is_empty() => {
                fence = Some(line.to_string());
            }
            None if line.trim().is_empty() && (tidy.is_empty() || tidy.ends_with("\n\n")) => {
                continue;
            }
            None => {}
        }
        tidy.push_str(line.trim_end());
        tidy.push('\n');
    }
    tidy.trim_end().to_string()
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    text.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

/// The `href` of an `<a …>` tag as ammonia writes it (double-quoted, entities escaped).
fn href_of(tag: &str) -> Option<String> {
    attribute(tag, "href")
}

/// An attribute of a tag as ammonia writes it (` name="value"`, entities escaped).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(html_escape::decode_html_entities(&tag[start..end]).into_owned())
}

/// An address as Isso stores it (`isso.utils.anonymize`): IPv4 to its /24, IPv6 to its /48
/// (an IPv4-mapped one as IPv4), anything else `0.0.0.0`.
fn anonymize(address: &str) -> String {
    match address.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0")
        }
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => anonymize(&v4.to_string()),
            None => {
                let s = v6.segments();
                format!(
                    "{:04x}:{:04x}:{:04x}:0000:0000:0000:0000:0000",
                    s[0], s[1], s[2]
                )
            }
        },
        Err(_) => "0.0.0.0".to_string(),
    }
}

/// Isso's voter filter (`isso.utils.Bloomfilter`: 2,048 bits, 11 probes, each the next 11 bits
/// of the SHA-256 of the key read as one big-endian number, from its low end) holding `address`.
fn voters_of(address: &str) -> [u8; 256] {
    let digest = Sha256::digest(address.as_bytes());
    let bit = |j: usize| (digest[31 - j / 8] >> (j % 8)) & 1;
    let mut filter = [0u8; 256];
    for probe in 0..11 {
        let index = (0..11).fold(0usize, |acc, k| {
            acc | (usize::from(bit(probe * 11 + k)) << k)
        });
        filter[index / 8] |= 1 << (index % 8);
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_kept_as_isso_keeps_them() {
        assert_eq!(anonymize("203.0.113.77"), "203.0.113.0");
        assert_eq!(
            anonymize("2001:db8:abcd:12::1"),
            "2001:0db8:abcd:0000:0000:0000:0000:0000"
        );
        assert_eq!(anonymize("::ffff:198.51.100.9"), "198.51.100.0");
        assert_eq!(anonymize(""), "0.0.0.0");
    }

    fn comment(id: i64, parent: Option<i64>, status: Status) -> ExportComment {
        ExportComment {
            comment: crate::storage::StoredComment {
                id,
                article: "/a/".into(),
                parent_id: parent,
                author: format!("reader {id}"),
                author_email: String::new(),
                author_url: None,
                content: format!("comment {id}"),
                user_ip: None,
                user_agent: None,
                status,
                verdict: "published".into(),
                spam_probability: 0.0,
                clues: serde_json::Value::Null,
                model_version: String::new(),
                source: "api".into(),
                created_at: "2026-12-07T00:00:00Z".into(),
                html: false,
                markdown: false,
                site_id: 2,
                remote_id: None,
            },
            comment_type: "comment".into(),
        }
    }

    /// (id, mode, parent) of each row.
    fn shape(comments: &[ExportComment]) -> Vec<(i64, i64, Option<i64>)> {
        isso_rows(comments)
            .iter()
            .map(|r| (r.comment.id, r.mode.number(), r.parent))
            .collect()
    }

    #[test]
    fn replies_hang_under_their_top_level_comment_as_isso_shows_them() {
        use Status::*;
        // 1 ← 2 ← 3: the deeper reply under 1. 4 (spam) ← 5 (spam) ← 6: 4 a placeholder,
        // 5 left out. 7 (held) ← 8: a published reply under a waiting comment is top-level
        // (Isso shows no replies of a comment in its queue); 9 (held) ← 10 (held) stays under it.
        let comments = [
            comment(1, None, Published),
            comment(2, Some(1), Published),
            comment(3, Some(2), Published),
            comment(4, None, Spam),
            comment(5, Some(4), Trash),
            comment(6, Some(5), Published),
            comment(7, None, Held),
            comment(8, Some(7), Published),
            comment(9, None, Held),
            comment(10, Some(9), Held),
            comment(11, None, Spam),
        ];
        assert_eq!(
            shape(&comments),
            vec![
                (1, 1, None),
                (2, 1, Some(1)),
                (3, 1, Some(1)),
                (4, 4, None),
                (6, 1, Some(4)),
                (7, 2, None),
                (8, 1, None),
                (9, 2, None),
                (10, 2, Some(9)),
            ]
        );
    }

    #[test]
    fn plain_text_renders_as_itself_in_markdown() {
        assert_eq!(markdown_literal("5*3*2 and _x_"), "5\\*3\\*2 and \\_x\\_");
        assert_eq!(
            markdown_literal("# not a title\n> not a quote\n1. not a list"),
            "\\# not a title\n\\> not a quote\n1\\. not a list"
        );
        assert_eq!(
            markdown_literal("plain words, 3.5 km"),
            "plain words, 3.5 km"
        );
        // Rendered as Markdown (as Isso renders it), each reads as typed: no link, code,
        // emphasis, sub- or superscript appears.
        use crate::domain::comment_text::{markdown_to_html, text_key};
        for typed in [
            "x^2^ and a ^b^ c, H~2~O",
            "a <http://a.example/> b and <a@b.example>",
            "line\n\n    code after blank\n\tand a tab",
            "5*3*2 = 30, `tick`, [not](a link), | pipe |",
        ] {
            let html = markdown_to_html(&markdown_literal(typed));
            for tag in ["<a", "<sup", "<sub", "<code", "<em", "<pre", "<del"] {
                assert!(!html.contains(tag), "{typed}: {html}");
            }
            assert_eq!(
                text_key(&html, TextFormat::Html),
                text_key(typed, TextFormat::Plain),
                "{typed}: {html}"
            );
        }
    }

    #[test]
    fn quotes_lists_and_code_survive_the_way_to_isso() {
        use crate::domain::comment_text::{markdown_to_html, text_key};
        let html = "<blockquote><p>You said <em>this</em>.</p></blockquote><p>And:</p>\
                    <ul><li>one</li><li>two <code>a &lt; b</code></li></ul>\
                    <ol><li>first</li><li>second</li></ol>\
                    <pre><code>let x = 1;\nlet y = x * 2;\n</code></pre>\
                    <ol start=\"3\"><li>third</li></ol>\
                    <pre>def a():\n    pass\n\n\ndef b(): ```fence```</pre>\
                    <p>See <a href=\"https://en.wikipedia.org/wiki/Rust_(programming_language)\">Rust</a>.</p>";
        let markdown = html_to_markdown(html);
        assert!(markdown.contains("> You said *this*."), "{markdown}");
        assert!(markdown.contains("- one\n- two `a < b`"), "{markdown}");
        assert!(markdown.contains("1. first\n2. second"), "{markdown}");
        assert!(
            markdown.contains("```\nlet x = 1;\nlet y = x * 2;\n```"),
            "{markdown}"
        );
        assert!(markdown.contains("3. third"), "{markdown}");
        assert!(
            markdown.contains("````\ndef a():\n    pass\n\n\ndef b(): ```fence```\n````"),
            "{markdown}"
        );
        let back = markdown_to_html(&markdown);
        for part in [
            "<blockquote>",
            "<li>one</li>",
            "<code>a &lt; b</code>",
            "<ol>",
            "<pre><code>let x = 1;",
            "<ol start=\"3\">",
            "pass\n\n\ndef b(): ```fence```",
            "href=\"https://en.wikipedia.org/wiki/Rust_%28programming_language%29\"",
        ] {
            assert!(back.contains(part), "{part}: {back}");
        }
        assert_eq!(
            text_key(&back, TextFormat::Html),
            text_key(html, TextFormat::Html)
        );
    }

    #[test]
    fn imported_html_becomes_markdown() {
        assert_eq!(
            html_to_markdown(
                "<p>A <strong>bold</strong> &amp; <em>kind</em> word &lt;3</p>\
                 <p>See <a href=\"https://ex.example/a?b=1&amp;c=2\" rel=\"nofollow\">this</a><br>ok</p>"
            ),
            "A **bold** & *kind* word \\<3\n\nSee [this](https://ex.example/a?b=1&c=2)\nok"
        );
    }

    #[test]
    fn the_voter_filter_sets_eleven_bits_at_most() {
        let filter = voters_of("127.0.0.0");
        let set: u32 = filter.iter().map(|b| b.count_ones()).sum();
        assert!((1..=11).contains(&set), "{set}");
        assert_ne!(voters_of("127.0.0.0"), voters_of("127.0.1.0"));
    }
}
