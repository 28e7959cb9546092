//! `replyguard classify`: score one text, or stream JSONL records from stdin to stdout.

use super::{ThresholdFlags, default_model};
use crate::data::CommentView;
use crate::engine::{Classification, Clue, Model, Scratch, Verdict, model_file};
use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The comment text. Without it (and without --jsonl) the whole of stdin is one comment.
    pub text: Option<String>,
    /// Model file.
    #[arg(long, default_value_os_t = default_model(), env = "REPLYGUARD_MODEL")]
    pub model: PathBuf,
    /// Read one JSON object per line on stdin (Akismet field names, `comment_content` required)
    /// and write one result per line, in order.
    #[arg(long, conflicts_with = "text")]
    pub jsonl: bool,
    /// Print the result of a single comment as JSON.
    #[arg(long)]
    pub json: bool,
    /// How many clues (deciding tokens) to report.
    #[arg(long, default_value_t = 5)]
    pub clues: usize,
    #[command(flatten)]
    pub thresholds: ThresholdFlags,
}

/// One input record, borrowed from the line where possible.
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    comment_content: Cow<'a, str>,
    #[serde(default, borrow)]
    comment_author: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    comment_author_email: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    comment_author_url: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    comment_type: Option<Cow<'a, str>>,
}

impl Record<'_> {
    fn view(&self) -> CommentView<'_> {
        CommentView {
            content: &self.comment_content,
            author: self.comment_author.as_deref(),
            author_email: self.comment_author_email.as_deref(),
            author_url: self.comment_author_url.as_deref(),
            user_agent: self.user_agent.as_deref(),
            comment_type: self.comment_type.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct Output<'a> {
    spam_probability: f64,
    verdict: Verdict,
    clues: &'a [Clue],
}

pub fn run(args: ClassifyArgs) -> anyhow::Result<()> {
    let mut model = model_file::load(&args.model)?;
    let thresholds = args.thresholds.apply(model.thresholds())?;
    model
        .set_thresholds(thresholds)
        .map_err(anyhow::Error::msg)?;
    if args.jsonl {
        return classify_stream(&model, args.clues);
    }
    let text = match args.text {
        Some(text) => text,
        None => {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .context("reading the comment from stdin (it must be UTF-8)")?;
            buf
        }
    };
    let mut scratch = Scratch::default();
    let (result, clues) = model.explain(CommentView::text(&text), &mut scratch, args.clues);
    if args.json {
        outln!("{}", serde_json::to_string(&to_output(&result, &clues))?);
    } else {
        print_human(&result, &clues)?;
    }
    Ok(())
}

fn to_output<'a>(result: &Classification, clues: &'a [Clue]) -> Output<'a> {
    Output {
        spam_probability: result.spam_probability,
        verdict: result.verdict,
        clues,
    }
}

/// Writes one result line's JSON by hand: this is the hot loop of `--jsonl`, and generic
/// serialization of the clue objects cost more than scoring them. Same bytes as serde_json would
/// write for [`Output`] (a unit test checks it).
fn write_result(out: &mut Vec<u8>, result: &Classification, clues: &[Clue]) {
    out.extend_from_slice(b"{\"spam_probability\":");
    // serde_json's own float formatting, so the number is identical.
    let _ = serde_json::to_writer(&mut *out, &result.spam_probability);
    out.extend_from_slice(b",\"verdict\":\"");
    out.extend_from_slice(result.verdict.as_str().as_bytes());
    out.extend_from_slice(b"\",\"clues\":[");
    for (i, clue) in clues.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"token\":");
        write_json_str(out, &clue.token);
        out.extend_from_slice(b",\"weight\":");
        let _ = serde_json::to_writer(&mut *out, &((clue.weight * 1e4).round() / 1e4));
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// A JSON string; the common case (nothing to escape) is one copy.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

fn print_human(result: &Classification, clues: &[Clue]) -> std::io::Result<()> {
    outln!(
        "{}  spam probability {:.4}  (log-odds {:+.2})",
        result.verdict.as_str(),
        result.spam_probability,
        result.log_odds
    );
    for clue in clues {
        outln!("  {:+8.3}  {}", clue.weight, clue.token);
    }
    Ok(())
}

/// Lines classified per batch; bounds memory whatever the input size.
const BATCH_LINES: usize = 8192;

/// Streams stdin to stdout: constant memory, output in input order, blank lines skipped. Each
/// batch of lines is split between the cores and the results written back in order. A bad line
/// yields `{"line":N,"error":"…"}` in its place, and the command exits with status 3 at the end.
fn classify_stream(model: &Model, top: usize) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16);
    let mut scratches: Vec<Scratch> = (0..workers).map(|_| Scratch::default()).collect();
    let mut outputs: Vec<Vec<u8>> = vec![Vec::new(); workers];
    let mut buf = Vec::new();
    let mut lines: Vec<Line> = Vec::with_capacity(BATCH_LINES);
    let mut line_no = 0u64;
    let mut bad = 0u64;
    loop {
        buf.clear();
        lines.clear();
        while lines.len() < BATCH_LINES {
            let start = buf.len();
            if input.read_until(b'\n', &mut buf).context("reading stdin")? == 0 {
                break;
            }
            line_no += 1;
            if !buf[start..].trim_ascii().is_empty() {
                lines.push(Line {
                    start,
                    end: buf.len(),
                    number: line_no,
                });
            }
        }
        if lines.is_empty() {
            break;
        }
        let per_worker = lines.len().div_ceil(workers);
        let buf = &buf;
        let results: Vec<u64> = std::thread::scope(|scope| {
            let handles: Vec<_> = lines
                .chunks(per_worker)
                .zip(scratches.iter_mut())
                .zip(outputs.iter_mut())
                .map(|((part, scratch), output)| {
                    scope.spawn(move || classify_lines(model, top, buf, part, scratch, output))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
        });
        bad += results.iter().sum::<u64>();
        for output in outputs.iter_mut() {
            out.write_all(output)?;
            output.clear();
        }
    }
    out.flush()?;
    if bad > 0 {
        eprintln!(
            "error: {bad} of {line_no} lines were not valid records (see their \"error\" lines)"
        );
        std::process::exit(super::exit::DATA);
    }
    Ok(())
}

/// A non-blank input line inside the batch buffer.
struct Line {
    start: usize,
    end: usize,
    number: u64,
}

/// Classifies `lines` of `buf` into `output`; returns how many were invalid.
fn classify_lines(
    model: &Model,
    top: usize,
    buf: &[u8],
    lines: &[Line],
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> u64 {
    let mut bad = 0;
    let mut clues = Vec::with_capacity(top);
    let clues = &mut clues;
    for line in lines {
        let written = match serde_json::from_slice::<Record>(&buf[line.start..line.end]) {
            Ok(record) => {
                let result = model.explain_into(record.view(), scratch, top, clues);
                write_result(out, &result, clues);
                Ok(())
            }
            Err(e) => {
                bad += 1;
                serde_json::to_writer(
                    &mut *out,
                    &serde_json::json!({"line": line.number, "error": format!("invalid record: {e}")}),
                )
            }
        };
        // Writing JSON into a Vec cannot fail; keep the line structure regardless.
        debug_assert!(written.is_ok());
        out.push(b'\n');
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_json_matches_serde() {
        let result = Classification {
            spam_probability: 0.123456789,
            log_odds: -1.0,
            verdict: Verdict::Held,
        };
        let clues = vec![
            Clue {
                token: "word:plain".into(),
                weight: 1.23456,
            },
            Clue {
                token: "punct:\"\\\u{1}".into(),
                weight: -2.0,
            },
            Clue {
                token: "bigram:ü é".into(),
                weight: 0.00004,
            },
        ];
        let mut ours = Vec::new();
        write_result(&mut ours, &result, &clues);
        let theirs = serde_json::to_vec(&to_output(&result, &clues)).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(theirs).unwrap()
        );
    }
}
