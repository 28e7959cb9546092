//! An XML export in the charset its declaration names, read as UTF-8.
//!
//! WordPress writes its export in the blog's `blog_charset`: an old blog set to ISO-8859-1 writes
//! `<?xml version="1.0" encoding="ISO-8859-1"?>` and Latin-1 bytes, which a UTF-8 reader stops at
//! (its first accented name). The declared charset is decoded with the WHATWG decoders of
//! `encoding_rs` (already in the tree for Akismet's `blog_charset`), streaming, so memory stays
//! flat; a file declaring UTF-8, or nothing, passes through untouched.

use encoding_rs::{Decoder, Encoding, UTF_8};
use std::io::{self, BufRead, Read};

/// The input as UTF-8: as it is, or decoded from the charset its XML declaration names.
pub enum Utf8Input<R: BufRead> {
    Plain(R),
    Decoded(Decoding<R>),
}

impl<R: BufRead> Utf8Input<R> {
    /// Looks at the declaration at the start of `input` (without consuming anything).
    pub fn new(mut input: R) -> Self {
        let declared = input.fill_buf().ok().and_then(declared_encoding);
        match declared {
            // Only charsets that write ASCII as ASCII: the declaration itself was just read as
            // ASCII, so another kind (UTF-16 without its byte order mark) cannot be what it says.
            Some(encoding) if encoding != UTF_8 && encoding.is_ascii_compatible() => {
                Utf8Input::Decoded(Decoding {
                    inner: input,
                    decoder: encoding.new_decoder_without_bom_handling(),
                    out: Vec::new(),
                    at: 0,
                    done: false,
                })
            }
            _ => Utf8Input::Plain(input),
        }
    }
}

/// The encoding an XML declaration (`<?xml … encoding="…"?>`) at the start of `head` names.
fn declared_encoding(head: &[u8]) -> Option<&'static Encoding> {
    // A UTF-8 byte order mark outranks the declaration (XML 1.0 F.1, the WHATWG decode rule):
    // such a file is UTF-8 whatever it says.
    if head.starts_with(b"\xEF\xBB\xBF") {
        return Some(UTF_8);
    }
    let head = head.strip_prefix(b"<?xml")?;
    let end = head.windows(2).take(512).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(&head[..end]).ok()?;
    let after = declaration.split("encoding").nth(1)?.trim_start();
    let after = after.strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let label = after[1..].split(quote).next()?;
    Encoding::for_label(label.trim().as_bytes())
}

/// A reader decoding `inner` to UTF-8 as it goes.
pub struct Decoding<R> {
    inner: R,
    decoder: Decoder,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

impl<R: BufRead> BufRead for Decoding<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at >= self.out.len() && !self.done {
            let input = self.inner.fill_buf()?;
            let last = input.is_empty();
            let room = self
                .decoder
                .max_utf8_buffer_length(input.len())
                .unwrap_or(input.len().saturating_mul(3) + 16);
            self.out.clear();
            self.out.resize(room, 0);
            self.at = 0;
            // Bytes the charset does not define become U+FFFD, as a browser shows them.
            let (_, read, written, _) = self.decoder.decode_to_utf8(input, &mut self.out, last);
            self.out.truncate(written);
            self.inner.consume(read);
            self.done = last;
        }
        Ok(&self.out[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.out.len());
    }
}

impl<R: BufRead> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> Read for Utf8Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Utf8Input::Plain(r) => r.read(buf),
            Utf8Input::Decoded(r) => r.read(buf),
        }
    }
}

impl<R: BufRead> BufRead for Utf8Input<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Utf8Input::Plain(r) => r.fill_buf(),
            Utf8Input::Decoded(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Utf8Input::Plain(r) => r.consume(amount),
            Utf8Input::Decoded(r) => r.consume(amount),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        // A small buffer (the declaration fits), so the text crosses buffer boundaries.
        Utf8Input::new(std::io::BufReader::with_capacity(64, bytes))
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn read_text(bytes: &[u8]) -> String {
        String::from_utf8(read_all(bytes)).unwrap()
    }

    #[test]
    fn a_declared_charset_is_decoded_and_utf8_passes_through() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<a>Car\xF3l \xE9t\xE9</a>";
        let long = [&latin1[..], &b"\xE9".repeat(300)[..]].concat();
        assert!(read_text(latin1).ends_with("<a>Caról été</a>"));
        assert!(read_text(&long).ends_with(&"é".repeat(300)));
        let single = b"<?xml version='1.0' encoding='windows-1252'?><a>\x93quoted\x94</a>";
        assert!(read_text(single).ends_with("<a>\u{201C}quoted\u{201D}</a>"));
        let utf8 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>Caról</a>";
        assert_eq!(read_text(utf8.as_bytes()), utf8);
        assert_eq!(
            read_all(b"<a>\xF3</a>"),
            b"<a>\xF3</a>",
            "undeclared: as it is"
        );
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\"?>"), None);
        assert_eq!(
            declared_encoding(b"<?xml version=\"1.0\" encoding = \"latin1\" ?>"),
            Some(encoding_rs::WINDOWS_1252)
        );
        let bom = "\u{FEFF}<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>José</a>";
        assert_eq!(
            read_text(bom.as_bytes()),
            bom,
            "a byte order mark says UTF-8"
        );
    }
}
