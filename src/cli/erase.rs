//! `replyguard erase --email ADDR`: a commenter's request to have their personal data erased.
//! Their comments stay where they are, signed "Anonymous", without address, website, IP or user
//! agent; the learning log's and the Akismet examples' copies are scrubbed too. Running servers
//! show the change on their next page render.

use clap::Args;

#[derive(Debug, Args)]
pub struct EraseArgs {
    #[command(flatten)]
    pub db: super::DbArg,
    /// The commenter's e-mail address (any case).
    #[arg(long, value_name = "ADDRESS")]
    pub email: String,
}

pub fn run(args: EraseArgs) -> anyhow::Result<()> {
    let email = args.email.trim();
    if email.is_empty() || !email.contains('@') {
        anyhow::bail!(
            "--email `{}`: give the commenter's e-mail address",
            args.email
        );
    }
    let rt = super::runtime()?;
    let store = rt.block_on(crate::storage::open_existing(&args.db.db))?;
    let erased = rt.block_on(store.erase_author(email))?;
    println!("{}", serde_json::to_string(&erased)?);
    eprintln!(
        "erased {email}: {} comment(s) anonymized, {} learning record(s) and {} example(s) scrubbed",
        erased.comments, erased.learning_records, erased.examples
    );
    Ok(())
}
