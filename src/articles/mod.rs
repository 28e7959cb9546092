//! Articles: Markdown files with a small front matter (`title`, `slug`, `date`, `author`). The
//! default article is built into the binary; `--articles DIR` serves an operator's own.

use std::path::{Path, PathBuf};

/// The built-in article shown when no directory is given.
const DEFAULT_ARTICLE: &str = include_str!("default.md");

/// One article, with its body already rendered to HTML (operator content, trusted).
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub slug: String,
    pub title: String,
    pub date: String,
    pub author: String,
    pub html: String,
    /// New comments are taken (an imported post keeps the old site's "comments closed").
    pub comments_open: bool,
}

/// Errors reading articles; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ArticleError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// Parses one article file's text.
pub fn parse(text: &str, path: &Path) -> Result<Article, ArticleError> {
    let invalid = |reason: &str| ArticleError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or_else(|| invalid("missing front matter (a first line `---`)"))?;
    let end = rest
        .find("\n---")
        .ok_or_else(|| invalid("front matter is not closed by a `---` line"))?;
    let (front, body) = (&rest[..end], &rest[end + 4..]);
    let body = body.split_once('\n').map_or("", |(_, b)| b);
    let field = |name: &str| -> Option<String> {
        front.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().trim_matches('"').to_string())
        })
    };
    let title = field("title").ok_or_else(|| invalid("front matter needs `title:`"))?;
    let slug = field("slug").ok_or_else(|| invalid("front matter needs `slug:`"))?;
    if slug.is_empty()
        || !slug
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid("`slug:` must be letters, digits, `-` or `_`"));
    }
    let date = field("date").unwrap_or_default();
    let author = field("author").unwrap_or_default();
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(body));
    Ok(Article {
        slug,
        title,
        date,
        author,
        html,
        comments_open: true,
    })
}

/// The built-in article.
pub fn default_article() -> Article {
    // The embedded file is checked by a unit test, so this cannot fail at run time.
    parse(DEFAULT_ARTICLE, Path::new("(built-in)")).unwrap_or_else(|e| Article {
        slug: "article".into(),
        title: "Article".into(),
        date: String::new(),
        author: String::new(),
        html: format!("<p>{e}</p>"),
        comments_open: true,
    })
}

/// Loads every `*.md` file of `dir`, newest date first; fails on duplicates or an empty directory.
pub fn load_dir(dir: &Path) -> Result<Vec<Article>, ArticleError> {
    let io = |source| ArticleError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    paths.sort();
    let mut articles = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| ArticleError::Io {
            path: path.clone(),
            source,
        })?;
        let article = parse(&text, &path)?;
        if articles.iter().any(|a: &Article| a.slug == article.slug) {
            return Err(ArticleError::Invalid {
                path,
                reason: format!("slug `{}` is used twice", article.slug),
            });
        }
        articles.push(article);
    }
    if articles.is_empty() {
        return Err(ArticleError::Invalid {
            path: dir.to_path_buf(),
            reason: "no .md articles found".into(),
        });
    }
    articles.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.slug.cmp(&b.slug)));
    Ok(articles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_article_parses() {
        let a = parse(DEFAULT_ARTICLE, Path::new("default.md")).unwrap();
        assert_eq!(a.slug, "alibaba-olympic-partner");
        assert!(a.title.contains("Olympic"));
        assert!(a.html.contains("<h2>What Alibaba brings</h2>"));
    }

    #[test]
    fn front_matter_is_required_and_checked() {
        assert!(parse("no front matter", Path::new("x.md")).is_err());
        assert!(
            parse("---\ntitle: t\n---\nbody", Path::new("x.md"))
                .unwrap_err()
                .to_string()
                .contains("slug")
        );
        assert!(parse("---\ntitle: t\nslug: a b\n---\n", Path::new("x.md")).is_err());
        let a = parse(
            "---\ntitle: \"Hi\"\nslug: hi\ndate: 2024-01-01\n---\n*x*\n",
            Path::new("x.md"),
        )
        .unwrap();
        assert_eq!(
            (a.title.as_str(), a.html.trim()),
            ("Hi", "<p><em>x</em></p>")
        );
    }
}
