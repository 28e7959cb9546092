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
use std::sync::{Arc, mpsc};

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
        write_rounded_weight(out, clue.weight);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// A clue weight rounded to 4 decimals, as serde_json writes `(w * 1e4).round() / 1e4`.
///
/// That value is the double nearest to a decimal with at most four fractional digits, so its
/// shortest round-trip form is that decimal with trailing zeros dropped: integer arithmetic gives
/// the same bytes without general float formatting (5 of them per line, the bulk of the number
/// formatting cost). Zero (its sign) and large values go through serde_json.
fn write_rounded_weight(out: &mut Vec<u8>, weight: f64) {
    let scaled = (weight * 1e4).round();
    if scaled == 0.0 || scaled.is_nan() || scaled.abs() >= 1e12 {
        let _ = serde_json::to_writer(&mut *out, &(scaled / 1e4));
        return;
    }
    // |scaled| < 1e12 is exactly an integer in range.
    let units = scaled as i64;
    if units < 0 {
        out.push(b'-');
    }
    let units = units.unsigned_abs();
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(units / 10_000).as_bytes());
    out.push(b'.');
    let mut fraction = units % 10_000;
    if fraction == 0 {
        out.push(b'0');
        return;
    }
    let mut width = 4;
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        width -= 1;
    }
    let text = digits.format(fraction);
    out.extend(std::iter::repeat_n(b'0', width - text.len()));
    out.extend_from_slice(text.as_bytes());
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

/// A batch ends after this many lines or once it holds [`BATCH_BYTES`], whichever comes first:
/// memory stays bounded whatever the input size.
const BATCH_LINES: usize = 8192;
const BATCH_BYTES: usize = 1 << 20;

/// Streams stdin to stdout: constant memory, output in input order, blank lines skipped.
///
/// One worker thread per core lives for the whole stream (threads spawned per batch cost a fresh
/// allocator heap each time). This thread reads the next batch while the workers classify the
/// previous one, each worker taking one contiguous slice; it then writes the slices back in order.
/// A bad line yields `{"line":N,"error":"…"}` in its place, and the command exits with status 3
/// at the end.
fn classify_stream(model: &Model, top: usize) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16);
    let mut line_no = 0u64;
    let bad = std::thread::scope(|scope| -> anyhow::Result<u64> {
        let mut pool = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (job_tx, job_rx) = mpsc::sync_channel::<Job>(1);
            let (done_tx, done_rx) = mpsc::sync_channel::<Done>(1);
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                let mut clues = Vec::with_capacity(top);
                for job in job_rx {
                    let Job {
                        batch,
                        part,
                        mut output,
                    } = job;
                    output.clear();
                    let lines = batch.lines.get(part).unwrap_or_default();
                    let bad = classify_lines(
                        model,
                        top,
                        &batch.buf,
                        lines,
                        &mut scratch,
                        &mut clues,
                        &mut output,
                    );
                    // Let go of the batch before answering, so the reader can reuse its buffer.
                    drop(batch);
                    if done_tx.send(Done { output, bad }).is_err() {
                        break;
                    }
                }
            });
            pool.push((job_tx, done_rx));
        }
        // Results run about twice the size of the input records.
        let mut outputs: Vec<Vec<u8>> = (0..workers)
            .map(|_| Vec::with_capacity(2 * BATCH_BYTES / workers))
            .collect();
        let mut spare = Some(Batch::default());
        let mut in_flight: Option<(Arc<Batch>, usize)> = None;
        let mut bad = 0u64;
        loop {
            let mut batch = spare.take().unwrap_or_default();
            read_batch(&mut input, &mut batch, &mut line_no)?;
            if let Some((previous, parts)) = in_flight.take() {
                for (i, (_, done_rx)) in pool.iter().take(parts).enumerate() {
                    let done = done_rx
                        .recv()
                        .map_err(|_| anyhow::anyhow!("a classification worker stopped"))?;
                    out.write_all(&done.output)?;
                    bad += done.bad;
                    outputs[i] = done.output;
                }
                spare = Arc::try_unwrap(previous).ok();
            }
            if batch.lines.is_empty() {
                break;
            }
            let per_worker = batch.lines.len().div_ceil(workers);
            let parts = batch.lines.len().div_ceil(per_worker);
            let batch = Arc::new(batch);
            for (i, (job_tx, _)) in pool.iter().take(parts).enumerate() {
                let start = i * per_worker;
                let end = (start + per_worker).min(batch.lines.len());
                let job = Job {
                    batch: Arc::clone(&batch),
                    part: start..end,
                    output: std::mem::take(&mut outputs[i]),
                };
                job_tx
                    .send(job)
                    .map_err(|_| anyhow::anyhow!("a classification worker stopped"))?;
            }
            in_flight = Some((batch, parts));
        }
        Ok(bad)
    })?;
    out.flush()?;
    if bad > 0 {
        eprintln!(
            "error: {bad} of {line_no} lines were not valid records (see their \"error\" lines)"
        );
        std::process::exit(super::exit::DATA);
    }
    Ok(())
}

/// Up to [`BATCH_LINES`] input lines, read into one buffer.
struct Batch {
    buf: Vec<u8>,
    lines: Vec<Line>,
}

impl Default for Batch {
    /// Sized for a whole batch up front: growing by doubling would fault in fresh pages on every
    /// step, and the kernel zeroes each one (it showed up as 7% of the profile).
    fn default() -> Self {
        Batch {
            buf: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
            lines: Vec::with_capacity(BATCH_LINES),
        }
    }
}

/// A worker's share of a batch: `batch.lines[part]`, written into `output`.
struct Job {
    batch: Arc<Batch>,
    part: std::ops::Range<usize>,
    output: Vec<u8>,
}

/// A worker's answer: the result lines of its share and how many input lines were invalid.
struct Done {
    output: Vec<u8>,
    bad: u64,
}

/// Reads the next batch of non-blank lines (none at the end of the input).
fn read_batch(
    input: &mut impl BufRead,
    batch: &mut Batch,
    line_no: &mut u64,
) -> anyhow::Result<()> {
    batch.buf.clear();
    batch.lines.clear();
    while batch.lines.len() < BATCH_LINES && batch.buf.len() < BATCH_BYTES {
        let start = batch.buf.len();
        if input
            .read_until(b'\n', &mut batch.buf)
            .context("reading stdin")?
            == 0
        {
            break;
        }
        *line_no += 1;
        if !batch.buf[start..].trim_ascii().is_empty() {
            batch.lines.push(Line {
                start,
                end: batch.buf.len(),
                number: *line_no,
            });
        }
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
    clues: &mut Vec<Clue>,
    out: &mut Vec<u8>,
) -> u64 {
    let mut bad = 0;
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
    fn rounded_weights_match_serde() {
        let mut values = vec![
            0.0, -0.0, 1.0, -1.0, 0.00004, 0.00005, -0.00005, 1.23456, -2.5, 0.1, 10.0001, 123.45,
            -0.0301, 9.99995, 1e13, -1e300, 0.3, 0.7, 2.675,
        ];
        // A deterministic sweep of ordinary magnitudes.
        let mut x = 0.000_01f64;
        while x < 5_000.0 {
            values.push(x);
            values.push(-x * 1.37);
            x *= 1.0123;
        }
        for w in values {
            let mut ours = Vec::new();
            write_rounded_weight(&mut ours, w);
            let theirs = serde_json::to_vec(&((w * 1e4).round() / 1e4)).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap(),
                "{w}"
            );
        }
    }

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
