//! `replyguard classify`: score one text, or stream JSONL records from stdin to stdout.

use super::{ThresholdFlags, default_model};
use crate::data::CommentView;
use crate::engine::{Classification, Clue, Model, Scratch, Verdict, model_file};
use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};

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

/// A chunk ends after this many lines or once it holds [`CHUNK_BYTES`], whichever comes first.
/// Chunks are small so that the workers share the work evenly even when one core is busy with
/// something else; the number in flight is bounded, so memory stays constant.
const CHUNK_LINES: usize = 512;
const CHUNK_BYTES: usize = 64 << 10;
/// Chunks read ahead of the output, per worker.
const CHUNKS_IN_FLIGHT_PER_WORKER: usize = 4;

/// Streams stdin to stdout: constant memory, output in input order, blank lines skipped.
///
/// This thread reads input in chunks and hands them to one worker per core through a shared
/// queue (an idle worker takes the next chunk, so a slow or preempted one holds nothing up). The
/// results come back tagged with the chunk's sequence number and are written in order. Buffers
/// go round between the threads and are reused. A bad line yields `{"line":N,"error":"…"}` in
/// its place, and the command exits with status 3 at the end.
fn classify_stream(model: &Model, top: usize) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16);
    let max_in_flight = workers * CHUNKS_IN_FLIGHT_PER_WORKER;
    let mut line_no = 0u64;
    let bad = std::thread::scope(|scope| -> anyhow::Result<u64> {
        let (job_tx, job_rx) = mpsc::sync_channel::<Chunk>(max_in_flight);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Chunk>();
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                let mut clues = Vec::with_capacity(top);
                loop {
                    // The lock is held only to take one chunk off the queue.
                    let next = match job_rx.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => break,
                    };
                    let Ok(mut chunk) = next else { break };
                    chunk.output.clear();
                    let Chunk {
                        buf, lines, output, ..
                    } = &mut chunk;
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        classify_lines(model, top, buf, lines, &mut scratch, &mut clues, output)
                    }));
                    chunk.bad = match outcome {
                        Ok(bad) => bad,
                        Err(_) => {
                            // A bug, not bad input: report the chunk's lines as failed rather
                            // than leave the reader waiting for them, and start clean.
                            scratch = Scratch::default();
                            chunk.output.clear();
                            for line in &chunk.lines {
                                write_line_error(
                                    &mut chunk.output,
                                    line.number,
                                    "internal error while classifying",
                                );
                            }
                            chunk.lines.len() as u64
                        }
                    };
                    if done_tx.send(chunk).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let stopped = || anyhow::anyhow!("a classification worker stopped");
        let mut order = InOrder::default();
        let mut sent = 0u64;
        loop {
            let mut chunk = order.free.pop().unwrap_or_default();
            read_chunk(&mut input, &mut chunk, &mut line_no)?;
            if chunk.lines.is_empty() {
                break;
            }
            chunk.seq = sent;
            job_tx.send(chunk).map_err(|_| stopped())?;
            sent += 1;
            // Write whatever is ready; wait only when the read-ahead limit is reached.
            while let Ok(done) = done_rx.try_recv() {
                order.accept(done, &mut out)?;
            }
            while sent - order.written >= max_in_flight as u64 {
                let done = done_rx.recv().map_err(|_| stopped())?;
                order.accept(done, &mut out)?;
            }
        }
        drop(job_tx);
        while order.written < sent {
            let done = done_rx.recv().map_err(|_| stopped())?;
            order.accept(done, &mut out)?;
        }
        Ok(order.bad)
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

/// Puts classified chunks back in input order as they come back from the workers.
#[derive(Default)]
struct InOrder {
    /// Chunks that arrived ahead of their turn, by sequence number.
    waiting: BTreeMap<u64, Chunk>,
    /// Chunks written so far (the next sequence number due).
    written: u64,
    /// Invalid lines in the chunks written.
    bad: u64,
    /// Written chunks, ready for reuse.
    free: Vec<Chunk>,
}

impl InOrder {
    /// Takes a classified chunk and writes every chunk whose turn has come.
    fn accept(&mut self, chunk: Chunk, out: &mut impl Write) -> std::io::Result<()> {
        self.waiting.insert(chunk.seq, chunk);
        while let Some(chunk) = self.waiting.remove(&self.written) {
            out.write_all(&chunk.output)?;
            self.bad += chunk.bad;
            self.written += 1;
            self.free.push(chunk);
        }
        Ok(())
    }
}

/// Up to [`CHUNK_LINES`] input lines and, once classified, their result lines.
struct Chunk {
    /// Position of the chunk in the input.
    seq: u64,
    buf: Vec<u8>,
    lines: Vec<Line>,
    output: Vec<u8>,
    /// Invalid lines in the chunk.
    bad: u64,
}

impl Default for Chunk {
    /// Sized for a whole chunk up front, so buffers do not grow step by step.
    fn default() -> Self {
        Chunk {
            seq: 0,
            buf: Vec::with_capacity(CHUNK_BYTES + (16 << 10)),
            lines: Vec::with_capacity(CHUNK_LINES),
            // Results run about twice the size of the input records.
            output: Vec::with_capacity(2 * CHUNK_BYTES),
            bad: 0,
        }
    }
}

/// Reads the next chunk of non-blank lines (none at the end of the input).
fn read_chunk(
    input: &mut impl BufRead,
    chunk: &mut Chunk,
    line_no: &mut u64,
) -> anyhow::Result<()> {
    chunk.buf.clear();
    chunk.lines.clear();
    while chunk.lines.len() < CHUNK_LINES && chunk.buf.len() < CHUNK_BYTES {
        let start = chunk.buf.len();
        if input
            .read_until(b'\n', &mut chunk.buf)
            .context("reading stdin")?
            == 0
        {
            break;
        }
        *line_no += 1;
        if !chunk.buf[start..].trim_ascii().is_empty() {
            chunk.lines.push(Line {
                start,
                end: chunk.buf.len(),
                number: *line_no,
            });
        }
    }
    Ok(())
}

/// A non-blank input line inside a chunk's buffer.
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
        match serde_json::from_slice::<Record>(&buf[line.start..line.end]) {
            Ok(record) => {
                let result = model.explain_into(record.view(), scratch, top, clues);
                write_result(out, &result, clues);
                out.push(b'\n');
            }
            Err(e) => {
                bad += 1;
                write_line_error(out, line.number, &format!("invalid record: {e}"));
            }
        }
    }
    bad
}

/// The result line that stands in for input line `number`: `{"error":…,"line":N}`.
fn write_line_error(out: &mut Vec<u8>, number: u64, error: &str) {
    let written = serde_json::to_writer(
        &mut *out,
        &serde_json::json!({"line": number, "error": error}),
    );
    // Writing JSON into a Vec cannot fail; keep the line structure regardless.
    debug_assert!(written.is_ok());
    out.push(b'\n');
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
            sender_log_odds: 0.0,
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
