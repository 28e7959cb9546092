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
    let mut pairs = Vec::with_capacity(16);
    for part in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut kv = part.splitn(2, |&b| b == b'=');
        let name = decode(kv.next().unwrap_or_default())?;
        let value = decode(kv.next().unwrap_or_default())?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn decode(raw: &[u8]) -> Result<Cow<'_, str>, String> {
    if !raw.iter().any(|&b| b == b'+' || b == b'%') {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| not_utf8());
    }
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
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| not_utf8())
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

fn not_utf8() -> String {
    "the form is not valid UTF-8; send it as UTF-8".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
