//! The site's reputation rules, applied to a reader's comment after the text model has scored
//! it and before it is stored: what the site already knows of the sender outweighs what the
//! words suggest. The naive Bayes score is kept whatever a rule decides; a rule that changes the
//! verdict leads the clues and is counted on `/metrics`.

use super::AppState;
use super::error::WebError;
use crate::engine::{Classification, Clue, Verdict};

/// The clue naming the returning-author rule when it changed the verdict.
pub const RETURNING_AUTHOR_CLUE: &str = "rule:trusted-author";

/// The clue naming the spam-history rule when it changed the verdict.
pub const SPAM_HISTORY_CLUE: &str = "rule:spam-history";

/// Puts the clue that decided first, keeping at most [`super::submit::CLUES`].
pub fn lead(clues: &mut Vec<Clue>, token: &str, weight: f64) {
    clues.insert(
        0,
        Clue {
            token: token.to_string(),
            weight,
        },
    );
    clues.truncate(super::submit::CLUES);
}

/// Applies the rules to a reader's comment from `email` signed `name`, with one lookup:
/// - **returning author** (`--trust-returning-authors`): an earlier comment with the same address
///   and name is published, so what the model would hold is published and what it would reject
///   is held for a look, never rejected (WordPress's "previously approved comment" rule);
/// - **spam history** (`--spam-history-days`): otherwise, if a moderator marked a comment from
///   this address spam lately, what the model would publish is held and what it would hold is
///   rejected (the moderator's decision is the sender evidence rejecting needs). By address
///   only, never by IP: whole offices and carriers share one, and one spammer among them must
///   not lock the others out.
pub async fn apply(
    state: &AppState,
    email: &str,
    name: &str,
    classification: &mut Classification,
    clues: &mut Vec<Clue>,
) -> Result<(), WebError> {
    let trust = state.trust_returning_authors && classification.verdict != Verdict::Published;
    let history = state.spam_history_days > 0 && classification.verdict != Verdict::Rejected;
    if email.is_empty() || !(trust || history) {
        return Ok(());
    }
    let since = crate::storage::rfc3339_ago(std::time::Duration::from_secs(
        86_400 * u64::from(state.spam_history_days),
    ));
    let known = state.store.reputation(email, name, &since).await?;
    let (verdict, clue) = if trust && known.returning_author {
        let verdict = match classification.verdict {
            Verdict::Rejected => Verdict::Held,
            _ => Verdict::Published,
        };
        (verdict, RETURNING_AUTHOR_CLUE)
    } else if history && known.marked_spam {
        let verdict = match classification.verdict {
            Verdict::Published => Verdict::Held,
            _ => Verdict::Rejected,
        };
        (verdict, SPAM_HISTORY_CLUE)
    } else {
        return Ok(());
    };
    classification.verdict = verdict;
    lead(clues, clue, 0.0);
    state.metrics.rule(clue);
    Ok(())
}
