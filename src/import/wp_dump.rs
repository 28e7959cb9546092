//! `wp comment list --format=json|csv --fields=…`: the rows of `wp_comments`, spam included (which
//! a WXR export leaves out). Read one row at a time.

use super::{ImportError, Item, Record, Refused, WpComment};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use std::io::BufRead;

/// A row's fields as text, whatever JSON type the dump gave them.
fn row_from_json(map: serde_json::Map<String, serde_json::Value>) -> WpComment {
    let mut row = WpComment::default();
    for (key, value) in map {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        row.set(&key, text);
    }
    row
}

/// Walks the top-level JSON array, handing each element over as it is parsed, so the whole dump
/// is never in memory.
struct EachRow<'a> {
    emit: &'a mut dyn FnMut(Item) -> Result<(), ImportError>,
    /// A failure of `emit` (storage), kept to return once serde has unwound.
    stopped: Option<ImportError>,
}

impl<'de> Visitor<'de> for &mut EachRow<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of wp_comments rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        loop {
            index += 1;
            // A row that is not an object is refused; the rest of the array still reads.
            let value: Option<serde_json::Value> = seq.next_element()?;
            let Some(value) = value else {
                return Ok(());
            };
            let item = match value {
                serde_json::Value::Object(map) => row_from_json(map)
                    .into_record()
                    .map(Record::Comment)
                    .map_err(|reason| Refused {
                        position: format!("record {index}"),
                        reason,
                    }),
                other => Err(Refused {
                    position: format!("record {index}"),
                    reason: format!("expected an object, found {other}"),
                }),
            };
            if let Err(e) = (self.emit)(item) {
                self.stopped = Some(e);
                return Err(serde::de::Error::custom("import stopped"));
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for &mut EachRow<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

pub fn read_json(
    mut input: impl BufRead,
    emit: &mut dyn FnMut(Item) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    // A byte-order mark (files saved on Windows) is not JSON.
    if input
        .fill_buf()
        .map_err(|e| ImportError::Malformed(e.to_string()))?
        .starts_with(b"\xEF\xBB\xBF")
    {
        input.consume(3);
    }
    let mut rows = EachRow {
        emit,
        stopped: None,
    };
    let mut de = serde_json::Deserializer::from_reader(input);
    let outcome = (&mut rows).deserialize(&mut de).and_then(|()| de.end());
    if let Some(stopped) = rows.stopped {
        return Err(stopped);
    }
    outcome.map_err(|e| {
        ImportError::Malformed(format!(
            "malformed JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

pub fn read_csv(
    input: impl BufRead,
    emit: &mut dyn FnMut(Item) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Malformed(format!("CSV header: {e}")))?
        .clone();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let mut row = WpComment::default();
                for (key, value) in headers.iter().zip(record.iter()) {
                    row.set(key.trim().trim_start_matches('\u{feff}'), value.to_string());
                }
                emit(
                    row.into_record()
                        .map(Record::Comment)
                        .map_err(|reason| Refused {
                            position: format!("line {line}"),
                            reason,
                        }),
                )?;
            }
            Err(e) => {
                let position = e.position().map_or(line, |p| p.line());
                // Invalid UTF-8 or a broken quote: that row is refused, the next one reads on.
                emit(Err(Refused {
                    position: format!("line {position}"),
                    reason: e.to_string(),
                }))?;
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(ImportError::Malformed(e.to_string()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn collect(
        f: impl FnOnce(&mut dyn FnMut(Item) -> Result<(), ImportError>) -> Result<(), ImportError>,
    ) -> (Vec<Item>, Result<(), ImportError>) {
        let mut out = Vec::new();
        let r = f(&mut |i| {
            out.push(i);
            Ok(())
        });
        (out, r)
    }

    #[test]
    fn json_rows_stream_and_bad_rows_are_refused() {
        let json = r#"[{"comment_ID":"3","comment_post_ID":"12","comment_author":"buy","comment_date_gmt":"2016-05-01 00:00:00","comment_content":"cheap","comment_approved":"spam","comment_parent":"0"},
            {"comment_ID":"x"}, 5,
            {"comment_ID":4,"comment_post_ID":12,"comment_date_gmt":"2016-05-01 00:00:00","comment_content":"hi","comment_approved":"1","comment_parent":3}]"#;
        let (items, result) = collect(|emit| read_json(json.as_bytes(), emit));
        result.unwrap();
        assert_eq!(items.len(), 4);
        let Ok(Record::Comment(c)) = &items[0] else {
            panic!()
        };
        assert_eq!(
            (c.status, c.remote_id.as_str()),
            (Status::Spam, "wordpress:3")
        );
        assert!(items[1].is_err() && items[2].is_err());
        let Ok(Record::Comment(c)) = &items[3] else {
            panic!()
        };
        assert_eq!(c.parent.as_deref(), Some("wordpress:3"));
        let (items, result) = collect(|emit| read_json(&b"\xEF\xBB\xBF[]"[..], emit));
        assert!(result.is_ok() && items.is_empty(), "a BOM is skipped");
        let (_, result) = collect(|emit| read_json(&b"[{\"comment_ID\":\"1\"}"[..], emit));
        assert!(result.unwrap_err().to_string().contains("line 1"));
    }

    #[test]
    fn csv_rows_with_quoted_html() {
        let csv = "comment_ID,comment_post_ID,comment_author,comment_date_gmt,comment_content,comment_approved,comment_type,comment_parent\n\
                   9,12,Ana,2016-05-01 00:00:00,\"Line one,\nline <em>two</em>\",0,,0\n\
                   10,12,Bo,not a date,x,1,,0\n";
        let (items, result) = collect(|emit| read_csv(csv.as_bytes(), emit));
        result.unwrap();
        let Ok(Record::Comment(c)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(c.status, Status::Held);
        assert_eq!(c.content, "Line one,\nline <em>two</em>");
        let Err(refused) = &items[1] else { panic!() };
        assert_eq!(refused.position, "line 4");
    }
}
