//! Disqus XML export: `<thread dsq:id>`s (title, link, date), then `<post dsq:id>`s pointing at
//! their thread and parent by `dsq:id`, marked `isSpam` / `isDeleted`.

use super::xml::{Node, XmlStream};
use super::{ArticleRecord, CommentRecord, ImportError, Item, Record, Refused, rfc3339, sanitize};
use crate::domain::Status;
use std::collections::HashSet;
use std::io::BufRead;

#[derive(Default)]
struct Thread {
    id: Option<String>,
    title: String,
    link: String,
    created: String,
    author: String,
    message: String,
    deleted: String,
    /// Disqus's `isClosed`: no new comments.
    closed: String,
}

#[derive(Default)]
struct Post {
    id: Option<String>,
    thread: Option<String>,
    parent: Option<String>,
    message: String,
    created: String,
    deleted: String,
    spam: String,
    approved: Option<String>,
    name: String,
    email: String,
    url: String,
    ip: String,
}

fn yes(flag: &str) -> bool {
    matches!(flag.trim(), "true" | "1")
}

impl Thread {
    fn record(self) -> Result<ArticleRecord, String> {
        let id = self
            .id
            .filter(|i| !i.trim().is_empty())
            .ok_or("thread without dsq:id")?;
        let link = self.link.trim().to_string();
        let last_segment = link
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let from_link =
            if link.contains("://") && last_segment.contains('.') && !last_segment.contains('-') {
                // A host (`https://blog.example.com/`): no path to name the article after.
                String::new()
            } else {
                super::slugify(last_segment)
            };
        let slug = if from_link.is_empty() {
            super::slugify(&self.title)
        } else {
            from_link
        };
        Ok(ArticleRecord {
            remote_id: format!("disqus-thread:{}", id.trim()),
            slug: if slug.is_empty() {
                format!("thread-{}", super::slugify(&id))
            } else {
                slug
            },
            title: super::plain_text(&self.title),
            date: rfc3339(&self.created).unwrap_or_default(),
            author: super::plain_text(&self.author),
            html: sanitize::article_html(&self.message),
            link: Some(link).filter(|l| !l.is_empty()),
            wp_post_id: None,
            public: !yes(&self.deleted),
            notes: Vec::new(),
            comments_open: !yes(&self.closed),
        })
    }
}

impl Post {
    fn record(self) -> Result<CommentRecord, String> {
        let id = self
            .id
            .filter(|i| !i.trim().is_empty())
            .ok_or("post without dsq:id")?;
        let id = id.trim();
        let thread = self
            .thread
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| format!("post {id} names no thread"))?;
        let date = rfc3339(&self.created)
            .ok_or_else(|| format!("post {id}: bad createdAt `{}`", self.created.trim()))?;
        let status = if yes(&self.spam) {
            Status::Spam
        } else if yes(&self.deleted) {
            Status::Trash
        } else if self.approved.as_deref().is_some_and(|a| !yes(a)) {
            Status::Held
        } else {
            Status::Published
        };
        Ok(CommentRecord {
            remote_id: format!("disqus:{id}"),
            article: format!("disqus-thread:{}", thread.trim()),
            parent: self
                .parent
                .filter(|p| !p.trim().is_empty())
                .map(|p| format!("disqus:{}", p.trim())),
            author: super::plain_text(&self.name),
            email: self.email.trim().to_string(),
            url: Some(self.url.trim().to_string()).filter(|u| !u.is_empty()),
            ip: Some(self.ip.trim().to_string()).filter(|u| !u.is_empty()),
            user_agent: None,
            date,
            content: crate::domain::comment_text::comment_html(&self.message),
            markdown: false,
            kind: "comment".into(),
            status,
            likes: 0,
            dislikes: 0,
            edited: None,
        })
    }
}

pub fn read(
    input: impl BufRead,
    emit: &mut dyn FnMut(Item) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut xml = XmlStream::new(input);
    let mut thread: Option<(u64, Thread)> = None;
    let mut post: Option<(u64, Post)> = None;
    // Disqus writes its threads first, but a file merged or edited by hand may name a thread
    // further down: a post whose thread has not been read yet waits for the end of the file
    // (only those; the others stream through), instead of being reported as an orphan.
    let mut threads_read: HashSet<String> = HashSet::new();
    let mut waiting: Vec<(u64, Post)> = Vec::new();
    let emit_post = |emit: &mut dyn FnMut(Item) -> Result<(), ImportError>, at: u64, p: Post| {
        emit(p.record().map(Record::Comment).map_err(|reason| Refused {
            position: format!("byte {at}"),
            reason,
        }))
    };
    loop {
        let position = xml.position();
        let Some(node) = xml.next_node()? else {
            for (at, p) in waiting {
                emit_post(emit, at, p)?;
            }
            return Ok(());
        };
        match node {
            // Threads and posts are children of the root; a post's own <thread dsq:id/> is deeper.
            Node::Open { name, id, depth } => match (name.as_str(), depth) {
                ("thread", 2) => {
                    thread = Some((
                        position,
                        Thread {
                            id,
                            ..Thread::default()
                        },
                    ))
                }
                ("post", 2) => {
                    post = Some((
                        position,
                        Post {
                            id,
                            ..Post::default()
                        },
                    ))
                }
                ("thread", 3) => {
                    if let Some((_, p)) = post.as_mut() {
                        p.thread = id;
                    }
                }
                ("parent", 3) => {
                    if let Some((_, p)) = post.as_mut() {
                        p.parent = id;
                    }
                }
                _ => {}
            },
            Node::Close { name, text, depth } => {
                match (name.as_str(), depth) {
                    ("thread", 2) => {
                        if let Some((at, t)) = thread.take() {
                            if let Some(id) = &t.id {
                                threads_read.insert(id.trim().to_string());
                            }
                            emit(t.record().map(Record::Article).map_err(|reason| Refused {
                                position: format!("byte {at}"),
                                reason,
                            }))?;
                        }
                    }
                    ("post", 2) => {
                        if let Some((at, p)) = post.take() {
                            let unread = p
                                .thread
                                .as_deref()
                                .is_some_and(|t| !threads_read.contains(t.trim()));
                            if unread {
                                waiting.push((at, p));
                            } else {
                                emit_post(emit, at, p)?;
                            }
                        }
                    }
                    (field, 3) => {
                        if let Some((_, t)) = thread.as_mut() {
                            let slot = match field {
                                "title" => &mut t.title,
                                "link" => &mut t.link,
                                "createdAt" => &mut t.created,
                                "message" => &mut t.message,
                                "isDeleted" => &mut t.deleted,
                                "isClosed" => &mut t.closed,
                                _ => continue,
                            };
                            *slot = text;
                        } else if let Some((_, p)) = post.as_mut() {
                            match field {
                                "message" => p.message = text,
                                "createdAt" => p.created = text,
                                "isDeleted" => p.deleted = text,
                                "isSpam" => p.spam = text,
                                "isApproved" => p.approved = Some(text),
                                "ipAddress" => p.ip = text,
                                _ => {}
                            }
                        }
                    }
                    (field, 4) => {
                        // <author><name/><email/><link/></author>
                        if let Some((_, t)) = thread.as_mut() {
                            if field == "name" {
                                t.author = text;
                            }
                        } else if let Some((_, p)) = post.as_mut() {
                            match field {
                                "name" => p.name = text,
                                "email" => p.email = text,
                                "link" | "url" => p.url = text,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_and_posts_with_spam_deleted_and_parents() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
<category dsq:id="1"><forum>blog</forum><title>General</title></category>
<thread dsq:id="100"><id>post-1</id><forum>blog</forum><category dsq:id="1"/>
<link>https://blog.example.com/2019/05/naive-bayes-explained/</link><title>Naive Bayes, explained</title>
<message/><createdAt>2019-05-01T10:00:00Z</createdAt><author><name>Ana</name><isAnonymous>false</isAnonymous></author>
<isClosed>false</isClosed><isDeleted>false</isDeleted></thread>
<post dsq:id="501"><id/><message><![CDATA[<p>Great read</p>]]></message><createdAt>2019-05-02T10:00:00Z</createdAt>
<isDeleted>false</isDeleted><isSpam>true</isSpam><author><email>x@y.org</email><name>Cheap pills</name></author>
<ipAddress>10.1.1.1</ipAddress><thread dsq:id="100"/><parent dsq:id="500"/></post>
</disqus>"#;
        let mut out = Vec::new();
        read(xml.as_bytes(), &mut |i| {
            out.push(i);
            Ok(())
        })
        .unwrap();
        let Ok(Record::Article(a)) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(a.slug, "naive-bayes-explained");
        assert_eq!(a.remote_id, "disqus-thread:100");
        let Ok(Record::Comment(c)) = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(c.status, Status::Spam);
        assert_eq!(c.article, "disqus-thread:100");
        assert_eq!(c.parent.as_deref(), Some("disqus:500"));
        assert_eq!(
            (c.author.as_str(), c.email.as_str()),
            ("Cheap pills", "x@y.org")
        );
        assert_eq!(c.content, "<p>Great read</p>");
        assert_eq!(out.len(), 2);
    }

    /// A post written before its thread (a merged or hand-edited file) waits for it, so the
    /// importer meets the thread first; a post of a thread already read streams through.
    #[test]
    fn a_post_before_its_thread_waits_for_it() {
        let xml = r#"<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
<post dsq:id="1"><message>early</message><createdAt>2015-06-01T10:20:30+02:00</createdAt><thread dsq:id="9"/></post>
<thread dsq:id="9"><link>https://blog.example.com/t9/</link><title>T9</title><createdAt>2015-05-30T08:00:00Z</createdAt></thread>
<post dsq:id="2"><message>late</message><createdAt>2015-06-02T10:00:00Z</createdAt><thread dsq:id="9"/></post>
</disqus>"#;
        let mut out = Vec::new();
        read(xml.as_bytes(), &mut |i| {
            out.push(i.map_err(|r| r.reason).unwrap());
            Ok(())
        })
        .unwrap();
        let order: Vec<String> = out
            .iter()
            .map(|r| match r {
                Record::Article(a) => a.remote_id.clone(),
                Record::Comment(c) => format!("{} {}", c.remote_id, c.date),
                _ => "other".into(),
            })
            .collect();
        assert_eq!(
            order,
            [
                "disqus-thread:9",
                "disqus:2 2015-06-02T10:00:00Z",
                "disqus:1 2015-06-01T08:20:30Z"
            ]
        );
    }
}
