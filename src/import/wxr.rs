//! WordPress WXR (1.0–1.2): `<item>`s with `wp:` post fields and nested `<wp:comment>`s. Spam is
//! not in a WXR file (WordPress leaves it out); a `wp comment list` dump brings it.

use super::xml::{Node, XmlStream};
use super::{
    ArticleRecord, ImportError, Item, Media, Record, Refused, WpComment, rfc3339, sanitize,
};
use std::collections::HashMap;
use std::io::BufRead;

/// The fields of one `<item>` read so far.
#[derive(Default)]
struct Post {
    position: u64,
    id: String,
    title: String,
    link: String,
    name: String,
    status: String,
    kind: String,
    password: String,
    creator: String,
    content: String,
    date: String,
    date_gmt: String,
    comment_status: String,
    /// An attachment's post.
    parent: String,
    /// An attachment's file.
    attachment_url: String,
    /// The article record was handed out (at its first comment, or at `</item>`).
    emitted: bool,
    /// Whether it became an article (a post or page, or any item with comments).
    known: bool,
}

impl Post {
    fn set(&mut self, name: &str, text: String) {
        let slot = match name {
            "title" => &mut self.title,
            "link" => &mut self.link,
            "wp:post_id" => &mut self.id,
            "wp:post_name" => &mut self.name,
            "wp:status" => &mut self.status,
            "wp:post_type" => &mut self.kind,
            "wp:post_password" => &mut self.password,
            "dc:creator" => &mut self.creator,
            "content:encoded" => &mut self.content,
            "wp:post_date" => &mut self.date,
            "wp:post_date_gmt" => &mut self.date_gmt,
            "wp:comment_status" => &mut self.comment_status,
            "wp:post_parent" => &mut self.parent,
            "wp:attachment_url" => &mut self.attachment_url,
            _ => return,
        };
        *slot = text;
    }

    fn is_article(&self) -> bool {
        matches!(self.kind.trim(), "post" | "page" | "")
    }

    /// Hands out the article once; `with_comments` makes any item one (its comments need a home,
    /// shown or not).
    fn emit(
        &mut self,
        with_comments: bool,
        authors: &HashMap<String, String>,
        media: &Media,
        emit: &mut dyn FnMut(Item) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        if self.emitted {
            return Ok(());
        }
        self.emitted = true;
        if !(with_comments || self.is_article()) {
            return Ok(());
        }
        let id = self.id.trim();
        let Ok(post_id) = id.parse::<i64>() else {
            return emit(Err(Refused {
                position: format!("byte {}", self.position),
                reason: format!("item `{}` has no numeric wp:post_id", self.title.trim()),
            }));
        };
        let public =
            self.is_article() && self.status.trim() == "publish" && self.password.trim().is_empty();
        let gmt = self.date_gmt.trim();
        let date = if gmt.is_empty() || gmt.starts_with("0000") {
            &self.date
        } else {
            gmt
        };
        let name = super::slugify(&percent_decoded(self.name.trim()));
        let slug = if name.is_empty() {
            super::slugify(&self.title)
        } else {
            name
        };
        self.known = true;
        let body = sanitize::wordpress_article(&self.content, post_id, media);
        emit(Ok(Record::Article(ArticleRecord {
            remote_id: format!("wordpress-post:{post_id}"),
            slug: if slug.is_empty() {
                format!("post-{post_id}")
            } else {
                slug
            },
            title: super::plain_text(&self.title),
            date: rfc3339(date).unwrap_or_default(),
            // The byline is the author's display name, as WordPress shows it, not the login.
            author: super::plain_text(
                authors
                    .get(self.creator.trim())
                    .map_or(&self.creator, |name| name),
            ),
            html: body.html,
            link: Some(self.link.trim().to_string()).filter(|l| !l.is_empty()),
            wp_post_id: Some(post_id),
            public,
            notes: body.notes,
            comments_open: self.comment_status.trim() != "closed",
        })))
    }
}

/// WordPress percent-encodes non-ASCII slugs (`%e6%97%a5`); the slug is made from the characters.
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The export's attachments, for its galleries: a first pass over the file, since WordPress exports
/// items by id and a post's attachments, uploaded after it was created, follow it.
pub fn media(input: impl BufRead) -> Media {
    let mut xml = XmlStream::new(input);
    let mut media = Media::default();
    let mut item: Option<Post> = None;
    // Inside a comment or a meta block, fields are not the item's.
    let mut nested = 0usize;
    // A file that stops parsing gives the attachments before the fault; the main pass reports it.
    while let Ok(Some(node)) = xml.next_node() {
        match node {
            Node::Open { name, .. } => match name.as_str() {
                "item" => item = Some(Post::default()),
                "wp:comment" | "wp:commentmeta" | "wp:postmeta" => nested += 1,
                _ => {}
            },
            Node::Close { name, text, .. } => match name.as_str() {
                "wp:comment" | "wp:commentmeta" | "wp:postmeta" => {
                    nested = nested.saturating_sub(1)
                }
                "item" => {
                    if let Some(p) = item.take()
                        && p.kind.trim() == "attachment"
                        && let Ok(id) = p.id.trim().parse::<i64>()
                    {
                        let url = p.attachment_url.trim().to_string();
                        if url.is_empty() {
                            continue;
                        }
                        if let Ok(parent) = p.parent.trim().parse::<i64>()
                            && parent > 0
                        {
                            media.by_parent.entry(parent).or_default().push(url.clone());
                        }
                        media.by_id.insert(id, url);
                    }
                }
                _ if nested > 0 => {}
                _ => {
                    if let Some(p) = item.as_mut() {
                        p.set(&name, text);
                    }
                }
            },
        }
    }
    media
}

/// Reads the export's articles and comments, in file order; `media` ([`media`]) gives its
/// galleries their images.
pub fn read(
    input: impl BufRead,
    media: &Media,
    emit: &mut dyn FnMut(Item) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut xml = XmlStream::new(input);
    let mut post: Option<Post> = None;
    let mut comment: Option<(u64, WpComment)> = None;
    // Inside <wp:commentmeta> or <wp:postmeta>: their <wp:meta_key> fields are not the post's.
    let mut meta = 0usize;
    // Authors (`<wp:author>` before the items): login → display name.
    let mut authors: HashMap<String, String> = HashMap::new();
    let (mut login, mut display) = (String::new(), String::new());
    loop {
        let position = xml.position();
        let Some(node) = xml.next_node()? else {
            return Ok(());
        };
        match node {
            Node::Open { name, .. } => match name.as_str() {
                "item" => {
                    post = Some(Post {
                        position,
                        ..Post::default()
                    })
                }
                "wp:comment" => {
                    if let Some(p) = post.as_mut() {
                        p.emit(true, &authors, media, emit)?;
                        let c = WpComment {
                            post_id: p.id.clone(),
                            ..WpComment::default()
                        };
                        comment = Some((position, c));
                    }
                }
                "wp:commentmeta" | "wp:postmeta" => meta += 1,
                _ => {}
            },
            Node::Close { name, text, .. } => match name.as_str() {
                "wp:commentmeta" | "wp:postmeta" => meta = meta.saturating_sub(1),
                _ if meta > 0 => {}
                "wp:author_login" if post.is_none() => login = text.trim().to_string(),
                "wp:author_display_name" if post.is_none() => display = text.trim().to_string(),
                "wp:author" if post.is_none() => {
                    let (login, display) =
                        (std::mem::take(&mut login), std::mem::take(&mut display));
                    if !login.is_empty() && !display.is_empty() {
                        authors.insert(login, display);
                    }
                }
                "wp:comment" => {
                    if let Some((at, c)) = comment.take() {
                        let known = post.as_ref().is_some_and(|p| p.known);
                        let item = if known {
                            c.into_record().map(Record::Comment)
                        } else {
                            Err("its item has no wp:post_id".to_string())
                        };
                        emit(item.map_err(|reason| Refused {
                            position: format!("byte {at}"),
                            reason,
                        }))?;
                    }
                }
                "item" => {
                    if let Some(mut p) = post.take() {
                        p.emit(false, &authors, media, emit)?;
                    }
                }
                _ => {
                    if let Some((_, c)) = comment.as_mut() {
                        if let Some(column) = name.strip_prefix("wp:") {
                            c.set(column, text);
                        }
                    } else if let Some(p) = post.as_mut() {
                        p.set(&name, text);
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn records(xml: &str) -> Vec<Item> {
        let mut out = Vec::new();
        let media = media(xml.as_bytes());
        read(xml.as_bytes(), &media, &mut |item| {
            out.push(item);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn posts_and_their_comments_are_read() {
        let xml = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="https://wordpress.org/export/1.2/">
<channel><title>Blog</title><link>https://blog.example.com</link>
<item><title>Hello &amp; welcome</title><link>https://blog.example.com/2017/03/01/hello/</link>
<dc:creator><![CDATA[ana]]></dc:creator><content:encoded><![CDATA[First.

<script>alert(1)</script>Second.]]></content:encoded>
<wp:post_id>12</wp:post_id><wp:post_date_gmt>2017-03-01 10:00:00</wp:post_date_gmt><wp:post_name>hello</wp:post_name>
<wp:status>publish</wp:status><wp:post_type>post</wp:post_type><wp:post_password></wp:post_password>
<wp:postmeta><wp:meta_key>_edit_last</wp:meta_key></wp:postmeta>
<wp:comment><wp:comment_id>7</wp:comment_id><wp:comment_author><![CDATA[Bo]]></wp:comment_author>
<wp:comment_author_email>bo@example.org</wp:comment_author_email><wp:comment_author_IP>10.0.0.1</wp:comment_author_IP>
<wp:comment_date_gmt>2017-03-02 10:00:00</wp:comment_date_gmt><wp:comment_content><![CDATA[Nice post, Zoë]]></wp:comment_content>
<wp:comment_approved>1</wp:comment_approved><wp:comment_type></wp:comment_type><wp:comment_parent>9</wp:comment_parent>
<wp:commentmeta><wp:meta_key>akismet_result</wp:meta_key><wp:meta_value>false</wp:meta_value></wp:commentmeta>
</wp:comment></item>
<item><title>Draft</title><wp:post_id>13</wp:post_id><wp:status>draft</wp:status><wp:post_type>post</wp:post_type></item>
<item><title>Menu</title><wp:post_id>14</wp:post_id><wp:post_type>nav_menu_item</wp:post_type></item>
</channel></rss>"#;
        let items = records(xml);
        assert_eq!(items.len(), 3, "{items:?}");
        let Ok(Record::Article(a)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (a.slug.as_str(), a.title.as_str(), a.public, a.wp_post_id),
            ("hello", "Hello & welcome", true, Some(12))
        );
        assert!(a.html.contains("<p>First.</p>") && !a.html.contains("script"));
        let Ok(Record::Comment(c)) = &items[1] else {
            panic!()
        };
        assert_eq!(c.remote_id, "wordpress:7");
        assert_eq!(c.article, "wordpress-post:12");
        assert_eq!(c.parent.as_deref(), Some("wordpress:9"));
        assert_eq!(c.content, "Nice post, Zoë");
        assert_eq!(c.status, Status::Published);
        assert_eq!(c.ip.as_deref(), Some("10.0.0.1"));
        let Ok(Record::Article(draft)) = &items[2] else {
            panic!()
        };
        assert!(!draft.public);
    }

    #[test]
    fn non_ascii_slugs_are_decoded() {
        assert_eq!(percent_decoded("caf%c3%a9-au-lait"), "café-au-lait");
        assert_eq!(percent_decoded("100%"), "100%");
    }
}
