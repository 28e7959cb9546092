//! Strict `application/x-www-form-urlencoded` decoding: unlike lossy decoders it refuses bytes
//! that are not UTF-8 instead of silently replacing them, so what a user typed is never altered.

use std::borrow::Cow;

/// One decoded `(name, value)` pair.
pub type Field<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Decodes `body` into `(name, value)` pairs; `Err` describes the first problem.
pub fn parse(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    Ok(parse_borrowed(body)?
        .into_iter()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect())
}

/// [`parse`], borrowing from `body` every name and value that needs no decoding (on a hot path,
/// most of them).
pub fn parse_borrowed(body: &[u8]) -> Result<Vec<Field<'_>>, String> {
    fields(body, decode)
}

/// [`parse`] for a form whose text is in `encoding` (a charset its sender declared): every name
/// and value decoded from that charset's bytes, which cannot fail (a byte the charset leaves
/// undefined becomes U+FFFD, as browsers show it).
pub fn parse_in(
    body: &[u8],
    encoding: &'static encoding_rs::Encoding,
) -> Result<Vec<Field<'static>>, String> {
    fields(body, |raw| {
        let bytes = unescape(raw)?;
        Ok(Cow::Owned(
            encoding.decode_without_bom_handling(&bytes).0.into_owned(),
        ))
    })
}

/// Splits `body` into `name=value` pairs, each side decoded by `text`.
fn fields<'a, 'b>(
    body: &'a [u8],
    text: impl Fn(&'a [u8]) -> Result<Cow<'b, str>, String>,
) -> Result<Vec<Field<'b>>, String> {
    let mut pairs = Vec::with_capacity(16);
    for part in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut kv = part.splitn(2, |&b| b == b'=');
        let name = text(kv.next().unwrap_or_default())?;
        let value = text(kv.next().unwrap_or_default())?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// The raw bytes of the first field named `name` (percent-decoded), without decoding them as
/// text: what a form says of its own charset can be read before the charset is known.
pub fn raw_field(body: &[u8], name: &str) -> Option<Vec<u8>> {
    body.split(|&b| b == b'&').find_map(|part| {
        let mut kv = part.splitn(2, |&b| b == b'=');
        let found = unescape(kv.next().unwrap_or_default()).ok()?;
        (found == name.as_bytes())
            .then(|| unescape(kv.next().unwrap_or_default()).ok())
            .flatten()
    })
}

fn decode(raw: &[u8]) -> Result<Cow<'_, str>, String> {
    if !raw.iter().any(|&b| b == b'+' || b == b'%') {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| not_utf8());
    }
    String::from_utf8(unescape(raw)?)
        .map(Cow::Owned)
        .map_err(|_| not_utf8())
}

/// `+` and `%XX` decoded to bytes.
fn unescape(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let byte = match raw.get(i + 1..i + 3) {
                    Some(&[high, low]) => hex_digit(high).zip(hex_digit(low)),
                    _ => None,
                }
                .map(|(high, low)| high << 4 | low)
                .ok_or("malformed percent-encoding in the form")?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

/// The value of one hexadecimal digit.
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The error [`parse`] gives for a form that is not UTF-8 (and only for that).
pub fn not_utf8() -> String {
    "the form is not valid UTF-8; send it as UTF-8".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_form_in_its_declared_charset() {
        let body = b"blog_charset=ISO-8859-1&comment_author=Ren%E9e&comment_content=d%E9j%E0+vu";
        assert!(parse_borrowed(body).is_err());
        assert_eq!(raw_field(body, "blog_charset").unwrap(), b"ISO-8859-1");
        assert_eq!(raw_field(body, "missing"), None);
        let latin1 = encoding_rs::Encoding::for_label(b"ISO-8859-1").unwrap();
        let fields = parse_in(body, latin1).unwrap();
        assert_eq!(fields[1].1, "Renée");
        assert_eq!(fields[2].1, "déjà vu");
        // A malformed escape is still an error, whatever the charset.
        assert!(parse_in(b"a=%E", latin1).is_err());
    }

    #[test]
    fn decodes_and_refuses_invalid_utf8() {
        assert_eq!(
            parse(b"comment=caf%C3%A9+ok&author=A%26B&empty=").unwrap(),
            [
                ("comment".into(), "café ok".into()),
                ("author".into(), "A&B".into()),
                ("empty".into(), String::new())
            ]
        );
        assert!(parse(b"comment=%FF%FE").unwrap_err().contains("UTF-8"));
        assert!(parse(b"comment=%G1").unwrap_err().contains("percent"));
        assert!(parse(b"comment=%4").is_err());
        assert!(parse(b"comment=\xFF").unwrap_err().contains("UTF-8"));
        let borrowed = parse_borrowed(b"plain=text&x=a+b").unwrap();
        assert!(matches!(borrowed[0].1, Cow::Borrowed("text")));
        assert!(matches!(&borrowed[1].1, Cow::Owned(s) if s == "a b"));
    }
}
