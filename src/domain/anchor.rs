//! Where links to a comment point: the fragment (`id`) a page gives it, here and on the old site
//! it was imported from.

/// A comment anchor as links name it: `comment-N` (this site's own comment N, or WordPress's and
/// Disqus's comment N) or `isso-N` (Isso's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Comment(i64),
    Isso(i64),
}

impl Anchor {
    /// The anchor a fragment names; `None` for anything else (including numbers beyond `i64`).
    pub fn parse(fragment: &str) -> Option<Anchor> {
        let number = |digits: &str| {
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<i64>().ok())
                .flatten()
        };
        if let Some(n) = fragment.strip_prefix("comment-") {
            return number(n).map(Anchor::Comment);
        }
        fragment
            .strip_prefix("isso-")
            .and_then(number)
            .map(Anchor::Isso)
    }

    /// The remote ids ([`crate::storage::StoredComment::remote_id`]) of the imported comments an
    /// old link with this anchor meant (two, the second perhaps repeating the first).
    pub fn remote_ids(self) -> [String; 2] {
        match self {
            Anchor::Comment(n) => [format!("wordpress:{n}"), format!("disqus:{n}")],
            Anchor::Isso(n) => [format!("isso:{n}"), format!("isso:{n}")],
        }
    }

    /// The id of this site's own comment it names, if it can name one.
    pub fn own_id(self) -> Option<i64> {
        match self {
            Anchor::Comment(n) => Some(n),
            Anchor::Isso(_) => None,
        }
    }
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Anchor::Comment(n) => write!(f, "comment-{n}"),
            Anchor::Isso(n) => write!(f, "isso-{n}"),
        }
    }
}

/// The anchor an imported comment had on its old site, from its remote id: WordPress and Disqus
/// link comments as `#comment-ID`, Isso as `#isso-ID`. `None` for a comment born here, or an id
/// that is not a plain number.
pub fn old_anchor(remote_id: &str) -> Option<Anchor> {
    let (system, id) = remote_id.split_once(':')?;
    let anchor = match system {
        "wordpress" | "disqus" => Anchor::parse(&format!("comment-{id}"))?,
        "isso" => Anchor::parse(&format!("isso-{id}"))?,
        _ => return None,
    };
    Some(anchor)
}

#[cfg(test)]
mod tests {
    use super::{Anchor, old_anchor};

    #[test]
    fn each_system_keeps_its_own_fragment() {
        let shown = |id: &str| old_anchor(id).map(|a| a.to_string());
        assert_eq!(shown("wordpress:7").as_deref(), Some("comment-7"));
        assert_eq!(shown("disqus:123456").as_deref(), Some("comment-123456"));
        assert_eq!(shown("isso:7").as_deref(), Some("isso-7"));
        assert_eq!(old_anchor("wordpress-post:7"), None);
        assert_eq!(old_anchor("wordpress:7\"><script>"), None);
        assert_eq!(old_anchor("wordpress:"), None);
    }

    #[test]
    fn fragments_parse_back_to_what_old_links_meant() {
        assert_eq!(Anchor::parse("comment-501"), Some(Anchor::Comment(501)));
        assert_eq!(Anchor::parse("isso-7"), Some(Anchor::Isso(7)));
        for not_one in [
            "top",
            "comment-",
            "comment-+5",
            "isso-x",
            "comment-99999999999999999999",
        ] {
            assert_eq!(Anchor::parse(not_one), None, "{not_one}");
        }
        assert_eq!(
            Anchor::Comment(5).remote_ids(),
            ["wordpress:5".to_string(), "disqus:5".to_string()]
        );
        assert_eq!(Anchor::Isso(5).own_id(), None);
        assert_eq!(Anchor::Comment(5).own_id(), Some(5));
    }
}
