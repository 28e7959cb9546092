//! Sites: one server hosts the comments of several. A site has a name, a title, the origins its
//! pages are served from, and its own settings; a thread is a page of a site, keyed by its path.
//! The types here are the only way in: a name, an origin or a thread path that exists is valid.

use serde::{Deserialize, Serialize};

/// Id of the default site: the articles replyguard serves itself, and every comment stored
/// before there were sites.
pub const DEFAULT_SITE: i64 = 1;

/// Name of the default site.
pub const DEFAULT_SITE_NAME: &str = "default";

/// Longest site name.
const MAX_NAME_CHARS: usize = 64;
/// Longest thread path.
const MAX_URI_CHARS: usize = 1024;
/// Longest thread title.
pub const MAX_TITLE_CHARS: usize = 256;

/// A site's name: 1–64 lowercase ASCII letters, digits and `-`, starting with a letter or digit
/// (it appears in URLs, `?site=`, and the command line).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SiteName(String);

impl SiteName {
    /// Parses a name, or says what is wrong with it.
    pub fn parse(raw: &str) -> Result<SiteName, String> {
        let name = raw.trim();
        let valid = !name.is_empty()
            && name.chars().count() <= MAX_NAME_CHARS
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-');
        if valid {
            Ok(SiteName(name.to_string()))
        } else {
            Err(format!(
                "site name `{raw}`: use 1-{MAX_NAME_CHARS} lowercase letters, digits and `-` \
                 (e.g. `blog`, `docs-2`)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SiteName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An origin pages are served from, as browsers send it in the `Origin` header:
/// `scheme://host[:port]`, lowercase, the scheme's default port left out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SiteOrigin(String);

impl SiteOrigin {
    /// Parses `https://blog.example.com`, `http://localhost:1313/` (a path of `/` is allowed, any
    /// other path, a query or credentials are not: an origin is scheme, host and port).
    pub fn parse(raw: &str) -> Result<SiteOrigin, String> {
        let bad = |why: &str| {
            Err(format!(
                "origin `{raw}`: {why} (expected scheme://host[:port], e.g. https://blog.example.com)"
            ))
        };
        let url = match url::Url::parse(raw.trim()) {
            Ok(url) => url,
            Err(e) => return bad(&e.to_string()),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return bad("the scheme must be http or https");
        }
        if url.host_str().is_none_or(str::is_empty) {
            return bad("no host");
        }
        if !url.username().is_empty() || url.password().is_some() {
            return bad("no user name or password belongs in an origin");
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return bad("an origin has no path, query or fragment");
        }
        // `url` lowercases the host and drops the scheme's default port.
        Ok(SiteOrigin(url.origin().ascii_serialization()))
    }

    /// The origin of a request's `Origin` header, or of its `Referer` (any URL: only its origin
    /// is kept); `None` for `null` or anything that is not an http(s) URL.
    pub fn of_header(value: &str) -> Option<SiteOrigin> {
        let url = url::Url::parse(value.trim()).ok()?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return None;
        }
        Some(SiteOrigin(url.origin().ascii_serialization()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SiteOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a site's new comments go through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Moderation {
    /// The classifier's verdict decides (published, held, rejected).
    #[default]
    Auto,
    /// Every comment the classifier would publish is held for a moderator too.
    All,
}

impl Moderation {
    pub fn parse(raw: &str) -> Option<Moderation> {
        match raw.trim() {
            "auto" => Some(Moderation::Auto),
            "all" => Some(Moderation::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Moderation::Auto => "auto",
            Moderation::All => "all",
        }
    }
}

/// A site's own settings, stored as JSON with the site (unknown keys are ignored and missing
/// ones take their defaults, so older and newer servers read each other's rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct SiteSettings {
    pub moderation: Moderation,
    /// Embedded comment forms must carry a name.
    pub require_author: bool,
    /// Embedded comment forms must carry an e-mail address.
    pub require_email: bool,
    /// Seconds after posting during which a reader may edit or delete their own comment from
    /// the embed (Isso's `max-age`).
    pub edit_window_seconds: u64,
}

/// Isso's default `[general] max-age`: 15 minutes.
pub const DEFAULT_EDIT_WINDOW_SECONDS: u64 = 900;

/// The longest edit window a site may set: a week (an edit is for a typo, and a window that
/// never closes lets a published comment become anything later).
pub const MAX_EDIT_WINDOW_SECONDS: u64 = 7 * 24 * 3600;

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            moderation: Moderation::Auto,
            require_author: false,
            require_email: false,
            edit_window_seconds: DEFAULT_EDIT_WINDOW_SECONDS,
        }
    }
}

impl SiteSettings {
    /// The name and e-mail address this site requires that a reader left empty, each under
    /// the name the calling form or API gives the field (`keys`: name's, then e-mail's), with
    /// what to tell them. The embed's API and the site's thread page ask alike.
    pub fn missing_fields(
        &self,
        author: &str,
        email: &str,
        keys: [&'static str; 2],
    ) -> super::FieldErrors {
        let mut missing = super::FieldErrors::new();
        if self.require_author && author.trim().is_empty() {
            missing.insert(keys[0], "Please give your name.".into());
        }
        if self.require_email && email.trim().is_empty() {
            missing.insert(
                keys[1],
                "Please give your e-mail address (it is never shown).".into(),
            );
        }
        missing
    }

    /// The edit window in seconds, at most [`MAX_EDIT_WINDOW_SECONDS`] whatever was stored.
    pub fn edit_window(&self) -> u64 {
        self.edit_window_seconds.min(MAX_EDIT_WINDOW_SECONDS)
    }

    /// Settings as stored; a row this build cannot read gets the defaults.
    pub fn from_json(text: &str) -> SiteSettings {
        serde_json::from_str(text).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A site as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    pub id: i64,
    pub name: String,
    pub title: String,
    /// Its origins, sorted.
    pub origins: Vec<String>,
    pub settings: SiteSettings,
    pub created_at: String,
}

impl Site {
    /// The origin its pages are published at, for links back to them (feeds, thread pages): an
    /// `https` origin on a public host before an `http` one, and either before a development
    /// server's (`localhost`, a loopback address, `*.localhost`, `*.local`), whatever order
    /// they were added in (`sites add blog --origin https://blog.example --origin
    /// http://localhost:1313` links to the blog).
    pub fn public_origin(&self) -> Option<&str> {
        fn rank(origin: &str) -> (bool, bool) {
            let (scheme, rest) = origin.split_once("://").unwrap_or(("", origin));
            let host = rest.rsplit_once(':').map_or(rest, |(host, port)| {
                if port.chars().all(|c| c.is_ascii_digit()) {
                    host
                } else {
                    rest
                }
            });
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let local = host == "localhost"
                || host.ends_with(".localhost")
                || host.ends_with(".local")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
            (local, scheme != "https")
        }
        self.origins
            .iter()
            .min_by_key(|origin| rank(origin))
            .map(String::as_str)
    }
}

/// A thread: a page of a site that has comments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thread {
    pub id: i64,
    pub site_id: i64,
    pub uri: String,
    pub title: String,
    pub created_at: String,
    /// New comments are taken: a post whose comments the old site had closed is imported
    /// closed, and `replyguard sites close` closes a page.
    pub comments_open: bool,
}

/// The path of the page this server shows a site's thread on, `/sites/NAME/thread?uri=…`: where
/// an embed's `<noscript>` link, reply mails, the admin's links and exports of a site without an
/// address of its own lead.
pub fn thread_page(site: &str, uri: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(uri.as_bytes()).collect();
    format!("{}?uri={encoded}", thread_page_route(site))
}

/// The route of [`thread_page`], `/sites/NAME/thread`.
pub fn thread_page_route(site: &str) -> String {
    format!("/sites/{site}/thread")
}

/// A thread's key within its site: the page's path as the browser shows it
/// (`window.location.pathname`), without query or fragment, so `?utm_source=…` does not split a
/// thread, and in one spelling ([`canonical_path`]), so `/résumé/`, `/r%c3%a9sum%c3%a9/` and
/// `/a/../r%C3%A9sum%C3%A9/` are one thread: a page closed, counted or moderated under one
/// spelling is so under every other a link or a script may send. Must start with `/`; at most
/// 1,024 characters; no control characters.
pub fn thread_uri(raw: &str) -> Result<String, String> {
    let path = raw.split(['?', '#']).next().unwrap_or_default().trim();
    if !path.starts_with('/') {
        return Err(format!("uri `{raw}` must be a path starting with `/`"));
    }
    if path.chars().count() > MAX_URI_CHARS {
        return Err(format!("uri is longer than {MAX_URI_CHARS} characters"));
    }
    if path.chars().any(char::is_control) {
        return Err("uri contains control characters".into());
    }
    // A browser sends such characters percent-encoded; raw, they reorder or break what shows the
    // path (a page's title falls back to it).
    let unshowable = |c: char| {
        super::unshowable::is_bidi_control(c)
            || super::unshowable::is_noncharacter(c)
            || super::unshowable::is_line_break(c)
    };
    if path.chars().any(unshowable) {
        return Err("uri contains invisible formatting characters".into());
    }
    // The limit is on the path as given: its canonical spelling may be longer (a non-ASCII
    // letter is six or nine characters escaped), and a key merged at start from an older
    // database must stay reachable by the path its readers' browsers send.
    Ok(canonical_path(path))
}

/// `path` in one spelling, so that the spellings a link, a browser or a script may give one page
/// are one key: every byte a browser would percent-encode in a path (non-ASCII, space, `"`, `<`,
/// `>`, `` ` ``, `{`, `}`) is encoded, `\` is `/`, escapes are upper-case, an escaped printable
/// character that needs no escape in a path (`%7E`, `%2D`, `%6F`, `%2B`, `%27`) is written plainly
/// (RFC 3986 6.2.2 for the unreserved ones; web servers serve the sub-delimiters alike too), a `%`
/// that starts no escape is `%25`, and `.` and `..` segments are resolved as a browser resolves
/// them. What makes paths different resources — case, `//`, a trailing slash, `index.html`, an
/// escaped `/`, `?`, `#` or `%` — stays as it is. Idempotent (a key is its own canonical
/// spelling: no escape is ever formed from decoded characters); used for new keys and to merge
/// the spellings stored before.
pub fn canonical_path(path: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    fn escape(out: &mut String, b: u8) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        out.push('%');
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    /// Bytes a path spells escaped: what a browser encodes, and what would change the path's
    /// meaning if written plainly (`%` starts an escape, `/` a segment, `?` and `#` end it, `\`
    /// reads as `/`).
    fn stays_escaped(b: u8) -> bool {
        b >= 0x80 || b.is_ascii_control() || b" \"<>`{}#?%/\\".contains(&b)
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escaped = (b == b'%')
            .then(|| Some(hex(*bytes.get(i + 1)?)? << 4 | hex(*bytes.get(i + 2)?)?))
            .flatten();
        if let Some(value) = escaped {
            if stays_escaped(value) {
                escape(&mut out, value);
            } else {
                out.push(value as char);
            }
            i += 3;
        } else {
            if b == b'\\' {
                // A browser reads `\` in an http(s) path as `/`.
                out.push('/');
            } else if stays_escaped(b) && b != b'/' {
                // Also a lone `%`: written `%25`, it can never pair with decoded digits after it.
                escape(&mut out, b);
            } else {
                out.push(b as char);
            }
            i += 1;
        }
    }
    without_dot_segments(&out)
}

/// `path` (starting with `/`) with its `.` and `..` segments resolved (RFC 3986 5.2.4), as
/// browsers resolve them before a page's script sees its path.
fn without_dot_segments(path: &str) -> String {
    let rest = path.strip_prefix('/').unwrap_or(path);
    if !rest.split('/').any(|s| s == "." || s == "..") {
        return path.to_string();
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(parts.len());
    for (i, segment) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
        // A path ending in a dot segment names the folder it resolves to: `/a/b/..` is `/a/`.
        if last && matches!(*segment, "." | "..") {
            kept.push("");
        }
    }
    format!("/{}", kept.join("/"))
}

/// A thread's title as given by the page: trimmed, one line, at most [`MAX_TITLE_CHARS`]
/// characters, without bidi controls or noncharacters (as names are kept; it heads the thread
/// page and its feed); empty when the page gave none.
pub fn thread_title(raw: &str) -> String {
    use super::unshowable::{is_bidi_control, is_noncharacter};
    let line: String = raw
        .chars()
        .filter(|&c| !is_bidi_control(c))
        .map(|c| {
            if c.is_control() || is_noncharacter(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    line.trim().chars().take(MAX_TITLE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_as_browsers_send_them() {
        let o = |s| SiteOrigin::parse(s).map(|o| o.0);
        assert_eq!(
            o("https://Blog.Example.com").unwrap(),
            "https://blog.example.com"
        );
        assert_eq!(
            o("https://blog.example.com:443/").unwrap(),
            "https://blog.example.com"
        );
        assert_eq!(o("http://localhost:1313").unwrap(), "http://localhost:1313");
        assert!(o("https://blog.example.com/path").is_err());
        assert!(o("ftp://blog.example.com").is_err());
        assert!(o("blog.example.com").is_err());
        assert!(o("https://user:pw@blog.example.com").is_err());
        assert_eq!(
            SiteOrigin::of_header("http://127.0.0.1:8000/page/?x=1").map(|o| o.0),
            Some("http://127.0.0.1:8000".into())
        );
        assert_eq!(SiteOrigin::of_header("null"), None);
    }

    #[test]
    fn names_thread_keys_and_settings() {
        assert!(SiteName::parse("blog-2").is_ok());
        for bad in ["", "Blog", "-x", "a b", "ä", &"x".repeat(65)] {
            assert!(SiteName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(thread_uri("/post/?utm_source=x#c1").unwrap(), "/post/");
        assert!(thread_uri("post").is_err());
        assert!(thread_uri("/a\u{0}b").is_err());
        assert!(thread_uri("/xu\u{202E}gnp.exe/").is_err());
        assert!(thread_uri("/a\u{FFFE}/").is_err());
        // One spelling whatever the link or script wrote.
        for spelling in [
            "/r%C3%A9sum%C3%A9/",
            "/r%c3%a9sum%c3%a9/",
            "/résumé/",
            "/x/../r%C3%A9sum%C3%A9/",
            "/./r%c3%A9sum%C3%a9/.",
            "/%72%C3%A9sum%C3%A9/",
        ] {
            assert_eq!(
                thread_uri(spelling).unwrap(),
                "/r%C3%A9sum%C3%A9/",
                "{spelling}"
            );
        }
        assert_eq!(thread_uri("/a b/\"{x}").unwrap(), "/a%20b/%22%7Bx%7D");
        assert_eq!(
            thread_uri("/%7euser/%2fslash%3f%23").unwrap(),
            "/~user/%2Fslash%3F%23"
        );
        assert_eq!(thread_uri("/100%/").unwrap(), "/100%25/");
        assert_eq!(
            thread_uri("/c++-tips/").unwrap(),
            thread_uri("/c%2B%2b-tips/").unwrap()
        );
        assert_eq!(thread_uri("/it%27s/").unwrap(), "/it's/");
        // A `%` before decoded digits never forms an escape: `%%32%65` is not `%2e`.
        assert_eq!(thread_uri("/post/%%32%65").unwrap(), "/post/%252e");
        assert_ne!(
            thread_uri("/post/%%32%65").unwrap(),
            thread_uri("/post/").unwrap()
        );
        assert_eq!(thread_uri("/a/b/..").unwrap(), "/a/");
        assert_eq!(thread_uri("/..").unwrap(), "/");
        assert_eq!(thread_uri("/a\\b").unwrap(), "/a/b");
        assert_eq!(thread_uri("/%2E%2E/x").unwrap(), "/x");
        // What can be another page stays another page.
        assert_eq!(thread_uri("/old//post/").unwrap(), "/old//post/");
        assert_eq!(thread_uri("/Post/index.html").unwrap(), "/Post/index.html");
        assert_eq!(thread_uri("/post").unwrap(), "/post");
        for raw in [
            "/résumé/",
            "/a%zz",
            "/%",
            "/a/./b/../c",
            "/\u{1F600}",
            "/post/%%32%65",
            "/x/%%32%65%%32%65/",
            "/%252e%252e/",
            "/%25%32%65",
            "/a%5Cb/%2f/%3F",
            "/%%%41",
        ] {
            let once = canonical_path(raw);
            assert_eq!(canonical_path(&once), once, "{raw}");
        }
        assert_eq!(thread_title("  A\ntitle "), "A title");
        assert_eq!(
            thread_title("T\u{FFFE}itle \u{202E}reversed\u{202C}"),
            "T itle reversed"
        );
        let s = SiteSettings::from_json(r#"{"moderation":"all","future-key":1}"#);
        assert_eq!(s.moderation, Moderation::All);
        assert_eq!(s.edit_window_seconds, DEFAULT_EDIT_WINDOW_SECONDS);
        assert_eq!(SiteSettings::from_json("not json"), SiteSettings::default());
        assert_eq!(SiteSettings::from_json(&s.to_json()), s);
    }

    #[test]
    fn links_go_to_the_public_origin_whatever_the_order() {
        let site = |origins: &[&str]| Site {
            id: 2,
            name: "blog".into(),
            title: "Blog".into(),
            origins: origins.iter().map(|o| o.to_string()).collect(),
            settings: SiteSettings::default(),
            created_at: String::new(),
        };
        let blog = "https://blog.example.com";
        for origins in [
            vec!["http://localhost:1313", blog],
            vec![blog, "http://localhost:1313"],
            vec!["http://127.0.0.1:4000", "http://blog.example.com", blog],
            vec!["http://[::1]:8080", "https://preview.local", blog],
        ] {
            assert_eq!(site(&origins).public_origin(), Some(blog), "{origins:?}");
        }
        assert_eq!(
            site(&["http://localhost:1313"]).public_origin(),
            Some("http://localhost:1313")
        );
        assert_eq!(site(&[]).public_origin(), None);
    }
}
