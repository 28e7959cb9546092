//! Storage rules that do not depend on the backend: how imported links compare, what a comment
//! known only from a dump is filed under, and what a moderation decision appends to the learning
//! log. Both backends apply them through the shared bodies in [`super::sql`].

use crate::data::{Comment, Label};
use crate::domain::{Status, training_label};
use crate::engine::Verdict;

/// The remote-id prefix of a WordPress post. A comment dump names its posts by id alone; such a
/// post waits, unshown, as a placeholder article until its WXR arrives.
pub const PLACEHOLDER_PREFIX: &str = "wordpress-post:";

/// The placeholder article a dumped comment of `remote_article` is filed under, when it names a
/// WordPress post: its slug and post id.
pub fn placeholder(remote_article: &str) -> Option<(String, i64)> {
    let post_id = remote_article
        .strip_prefix(PLACEHOLDER_PREFIX)?
        .parse::<i64>()
        .ok()?;
    Some((format!("wp-post-{post_id}"), post_id))
}

/// The path of an address (`https://blog.example.com/2017/03/01/hello/?x` → `/2017/03/01/hello`),
/// parsed by the `url` crate; `None` for a bare host.
pub fn link_path(link: &str) -> Option<String> {
    let url = url::Url::parse(link.trim()).ok()?;
    Some(url.path().trim_end_matches('/').to_string()).filter(|p| !p.is_empty())
}

/// The WordPress post id an old `?p=ID` / `?page_id=ID` query names (a blog on "Plain"
/// permalinks, or a draft, addresses its posts so).
pub fn wordpress_post_id(query: &str) -> Option<i64> {
    query
        .split('&')
        .find_map(|kv| {
            kv.strip_prefix("p=")
                .or_else(|| kv.strip_prefix("page_id="))
        })?
        .parse()
        .ok()
}

/// [`wordpress_post_id`] of a whole link (`https://blog.example/?p=7`).
pub fn link_post_id(link: &str) -> Option<i64> {
    url::Url::parse(link.trim())
        .ok()?
        .query()
        .and_then(wordpress_post_id)
}

/// Whether `post_link` (a post's address) is on the blog `id_link` (a `?p=ID` link) names: the
/// same host (case, `www.` and scheme aside) and, for a blog in a subdirectory, below its path.
pub fn same_blog(post_link: &str, id_link: &str) -> bool {
    let (post, blog) = (link_key(post_link), link_key(id_link));
    post.strip_prefix(&blog)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Same address, whatever the scheme, case of the host, `www.` or trailing slash: the key match
/// of Akismet blogs ([`crate::akismet::normalize_blog`]), less `www.`.
pub fn same_link(a: &str, b: &str) -> bool {
    link_key(a) == link_key(b)
}

/// A link as [`same_link`] compares it: host and path, without scheme, query, `www.` or
/// trailing `/`.
fn link_key(link: &str) -> String {
    let key = crate::akismet::normalize_blog(link);
    key.strip_prefix("www.").map(str::to_string).unwrap_or(key)
}

/// What a status change does to the labeled example a comment stands for (see
/// [`training_label`]): the example taken back (sign −1) and the one added (+1), in that order.
/// Empty when the example does not change (a repeated decision, held → trash).
pub fn decision_entries(verdict: &str, from: Option<Status>, to: Status) -> Vec<(Label, i16)> {
    // The schema's CHECK allows only the three verdicts.
    let verdict = Verdict::parse(verdict).unwrap_or(Verdict::Rejected);
    let before = from.and_then(|s| training_label(verdict, s));
    let after = training_label(verdict, to);
    if before == after {
        return Vec::new();
    }
    before
        .map(|l| (l, -1))
        .into_iter()
        .chain(after.map(|l| (l, 1)))
        .collect()
}

/// A label as stored (`spam` or `ham`).
pub fn label_of(label: &str) -> Label {
    if label == "spam" {
        Label::Spam
    } else {
        Label::Ham
    }
}

/// The learning-log record of an imported comment: what the import knew of it, its date included.
pub fn imported_record(c: &super::ImportedComment) -> Comment {
    let n = &c.comment;
    Comment {
        comment_content: n.content.clone(),
        comment_author: Some(n.author.clone()).filter(|a| !a.is_empty()),
        comment_author_email: Some(n.author_email.clone()).filter(|a| !a.is_empty()),
        comment_author_url: n.author_url.clone(),
        user_agent: n.user_agent.clone(),
        comment_type: Some(c.comment_type.clone()),
        comment_date_gmt: Some(c.created_at.clone()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_id_link_names_posts_of_its_blog_only() {
        let root = "https://blog.example.com/?p=9";
        assert_eq!(link_post_id(root), Some(9));
        assert_eq!(
            link_post_id("https://blog.example.com/?page_id=4&x=1"),
            Some(4)
        );
        assert!(same_blog("https://blog.example.com/hello/", root));
        assert!(same_blog("http://www.Blog.example.com/?p=9", root));
        assert!(!same_blog("https://other.example.com/hello/", root));
        let sub = "https://example.com/blog/?p=8";
        assert!(same_blog("https://example.com/blog/?p=8", sub));
        assert!(same_blog("https://example.com/blog/2019/hello/", sub));
        assert!(!same_blog("https://example.com/blog2/hello/", sub));
        assert!(!same_blog("https://example.com/hello/", sub));
    }

    #[test]
    fn links_compare_by_host_and_path() {
        assert_eq!(
            link_path("https://blog.example.com/2017/03/01/hello/?p=1").as_deref(),
            Some("/2017/03/01/hello")
        );
        assert_eq!(link_path("https://blog.example.com"), None);
        assert!(same_link(
            "http://www.Blog.example.com/hello/",
            "https://blog.example.com/hello"
        ));
        assert!(!same_link("https://a.org/x", "https://a.org/y"));
    }

    #[test]
    fn placeholders_name_wordpress_posts_only() {
        assert_eq!(
            placeholder("wordpress-post:12"),
            Some(("wp-post-12".into(), 12))
        );
        assert_eq!(placeholder("disqus-thread:12"), None);
        assert_eq!(placeholder("wordpress-post:x"), None);
    }

    #[test]
    fn a_reversed_decision_takes_back_then_adds() {
        assert_eq!(
            decision_entries("published", Some(Status::Published), Status::Spam),
            vec![(Label::Spam, 1)]
        );
        assert!(decision_entries("held", Some(Status::Held), Status::Held).is_empty());
    }
}
