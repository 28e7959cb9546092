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
        println!("{}", serde_json::to_string(&output(&result, &clues))?);
    } else {
        print_human(&result, &clues);
    }
    Ok(())
}

fn output<'a>(result: &Classification, clues: &'a [Clue]) -> Output<'a> {
    Output {
        spam_probability: result.spam_probability,
        verdict: result.verdict,
        clues,
    }
}

fn print_human(result: &Classification, clues: &[Clue]) {
    println!(
        "{}  spam probability {:.4}  (log-odds {:+.2})",
        result.verdict.as_str(),
        result.spam_probability,
        result.log_odds
    );
    for clue in clues {
        println!("  {:+8.3}  {}", clue.weight, clue.token);
    }
}

/// Streams stdin to stdout line by line: constant memory, output in input order. A bad line yields
/// `{"line":N,"error":"…"}` in its place, and the command exits with status 3 at the end.
fn classify_stream(model: &Model, top: usize) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut scratch = Scratch::default();
    let mut line = Vec::new();
    let mut line_no = 0u64;
    let mut bad = 0u64;
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .context("reading stdin")?
            == 0
        {
            break;
        }
        line_no += 1;
        if line.trim_ascii().is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(record) => {
                let (result, clues) = model.explain(record.view(), &mut scratch, top);
                serde_json::to_writer(&mut out, &output(&result, &clues))?;
            }
            Err(e) => {
                bad += 1;
                serde_json::to_writer(
                    &mut out,
                    &serde_json::json!({"line": line_no, "error": format!("invalid record: {e}")}),
                )?;
            }
        }
        out.write_all(b"\n")?;
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
