//! Which database to use, from one `--db` / `REPLYGUARD_DB` value: a path or `sqlite://PATH`
//! (SQLite, the embedded default) or `postgres://…` (PostgreSQL, for several replicas).

use std::path::PathBuf;
use std::str::FromStr;

/// A parsed `--db` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl FromStr for Database {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the database location is empty".into());
        }
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Database::Postgres(s.to_string()));
        }
        if let Some(path) = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://data/replyguard.db".into());
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        // Anything else with a scheme is a mistake, not a file name to create.
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(format!(
                "unknown database scheme `{scheme}://`: use a file path, sqlite://PATH or postgres://USER@HOST/DB"
            ));
        }
        Ok(Database::Sqlite(PathBuf::from(s)))
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            // Never print a password.
            Database::Postgres(url) => match url.split_once('@') {
                Some((userinfo, rest)) => match userinfo.rsplit_once(':') {
                    Some((user, _)) if user.contains("//") && user.matches(':').count() == 1 => {
                        write!(f, "{user}:***@{rest}")
                    }
                    _ => write!(f, "{url}"),
                },
                None => write!(f, "{url}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        let p = |s: &str| s.parse::<Database>();
        assert_eq!(p("data/rg.db"), Ok(Database::Sqlite("data/rg.db".into())));
        assert_eq!(
            p("sqlite:///tmp/x.db"),
            Ok(Database::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(p("sqlite:rel.db"), Ok(Database::Sqlite("rel.db".into())));
        assert_eq!(
            p("postgres://rg@db.example/rg"),
            Ok(Database::Postgres("postgres://rg@db.example/rg".into()))
        );
        assert!(p("mysql://x/y").is_err());
        assert!(p("").is_err());
        assert_eq!(
            p("postgres://rg:secret@db/rg").unwrap().to_string(),
            "postgres://rg:***@db/rg"
        );
    }
}
