//! A streaming walk over an XML export that hands out only what the importers read: element
//! openings (with a `dsq:id`-style `id` attribute) and closings (with the element's text, entities
//! and CDATA resolved). Names are canonical: an element in one of the namespaces the exports use
//! gets that namespace's usual prefix (`wp:`, `content:`, `dc:`, `excerpt:`, `wfw:`), whatever
//! prefix the file bound it to, so `http://` and `https://wordpress.org/export/1.x/` read alike.

use super::ImportError;
use super::charset::Utf8Input;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::collections::VecDeque;
use std::io::BufRead;

/// One step of the walk.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An element opened; `id` is its `id` attribute in any namespace (Disqus's `dsq:id`);
    /// `depth` is 1 for the root element.
    Open {
        name: String,
        id: Option<String>,
        depth: usize,
    },
    /// An element closed, with the text directly inside it.
    Close {
        name: String,
        text: String,
        depth: usize,
    },
}

/// The walk over one file.
pub struct XmlStream<R: BufRead> {
    reader: NsReader<Utf8Input<R>>,
    buf: Vec<u8>,
    text: String,
    queued: VecDeque<Node>,
    /// Names of the open elements, outermost first.
    open: Vec<String>,
}

impl<R: BufRead> XmlStream<R> {
    /// The walk over `input`, read in the charset its XML declaration names ([`Utf8Input`]).
    pub fn new(input: R) -> Self {
        let mut reader = NsReader::from_reader(Utf8Input::new(input));
        reader.config_mut().check_end_names = true;
        XmlStream {
            reader,
            buf: Vec::with_capacity(64 * 1024),
            text: String::new(),
            queued: VecDeque::new(),
            open: Vec::new(),
        }
    }

    /// Byte offset of the reader in the file: where a record began, for messages.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// The next opening or closing, `None` at the end of the file.
    pub fn next_node(&mut self) -> Result<Option<Node>, ImportError> {
        loop {
            if let Some(node) = self.queued.pop_front() {
                return Ok(Some(node));
            }
            self.buf.clear();
            let position = self.reader.buffer_position();
            let syntax = |e: &dyn std::fmt::Display| ImportError::Syntax {
                position,
                reason: e.to_string(),
            };
            let (ns, event) = self
                .reader
                .read_resolved_event_into(&mut self.buf)
                .map_err(|e| syntax(&e))?;
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let name = canonical(&ns, e.local_name().as_ref(), e.name().as_ref());
                    let id = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == "id")
                        .and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .ok()
                                .map(|v| v.into_owned())
                        });
                    self.text.clear();
                    let depth = self.open.len() + 1;
                    self.queued.push_back(Node::Open {
                        name: name.clone(),
                        id,
                        depth,
                    });
                    if matches!(event, Event::Empty(_)) {
                        self.queued.push_back(Node::Close {
                            name,
                            text: String::new(),
                            depth,
                        });
                    } else {
                        self.open.push(name);
                    }
                }
                Event::End(_) => {
                    let depth = self.open.len();
                    let name = self.open.pop().unwrap_or_default();
                    let text = std::mem::take(&mut self.text);
                    self.queued.push_back(Node::Close { name, text, depth });
                }
                Event::Text(t) => self.text.push_str(&t.xml10_content()),
                Event::CData(c) => {
                    let raw = c.into_inner();
                    self.text.push_str(&raw);
                }
                Event::GeneralRef(r) => {
                    if let Some(c) = r.resolve_char_ref().map_err(|e| syntax(&e))? {
                        self.text.push(c);
                    } else {
                        let entity = r.xml10_content();
                        match quick_xml::escape::resolve_predefined_entity(&entity) {
                            Some(s) => self.text.push_str(s),
                            // An HTML entity in an export (`&nbsp;`) is kept as written: the
                            // HTML sanitizer downstream reads it.
                            None => {
                                self.text.push('&');
                                self.text.push_str(&entity);
                                self.text.push(';');
                            }
                        }
                    }
                }
                Event::Eof => {
                    if let Some(open) = self.open.last() {
                        return Err(ImportError::Syntax {
                            position,
                            reason: format!("the file ends inside <{open}> (cut off?)"),
                        });
                    }
                    return Ok(None);
                }
                _ => {}
            }
        }
    }
}

/// The usual prefix of the namespaces WordPress and Disqus exports use.
fn canonical(ns: &ResolveResult<'_>, local: &str, qualified: &str) -> String {
    match ns {
        ResolveResult::Bound(ns) => {
            let uri = ns.as_ref();
            let bare = uri
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let prefix = if bare.starts_with("wordpress.org/export/") && bare.contains("/excerpt") {
                "excerpt"
            } else if bare.starts_with("wordpress.org/export/") {
                "wp"
            } else if bare.starts_with("purl.org/rss/1.0/modules/content") {
                "content"
            } else if bare.starts_with("purl.org/dc/elements") {
                "dc"
            } else if bare.starts_with("wellformedweb.org") {
                "wfw"
            } else {
                // The default namespace of a Disqus file and anything unknown: the local name.
                return local.to_string();
            };
            format!("{prefix}:{local}")
        }
        // An unbound prefix (a file that forgot its xmlns declarations): keep it as written.
        ResolveResult::Unknown(_) => qualified.to_string(),
        ResolveResult::Unbound => local.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(xml: &str) -> Result<Vec<Node>, ImportError> {
        let mut stream = XmlStream::new(xml.as_bytes());
        let mut nodes = Vec::new();
        while let Some(n) = stream.next_node()? {
            nodes.push(n);
        }
        Ok(nodes)
    }

    #[test]
    fn names_are_canonical_and_text_resolved() {
        let nodes = walk(
            r#"<rss xmlns:w="https://wordpress.org/export/1.2/"><w:a>x &amp; &#233; <![CDATA[<b>]]></w:a><t id="7"/></rss>"#,
        )
        .unwrap();
        assert!(nodes.contains(&Node::Close {
            name: "wp:a".into(),
            text: "x & é <b>".into(),
            depth: 2,
        }));
        assert!(nodes.contains(&Node::Open {
            name: "t".into(),
            id: Some("7".into()),
            depth: 2,
        }));
    }

    #[test]
    fn a_cut_off_file_is_an_error_with_its_position() {
        assert!(matches!(
            walk("<rss><item><title>x</title>"),
            Err(ImportError::Syntax { .. })
        ));
        assert!(walk("<rss><a></b></rss>").is_err());
    }
}
