//! How a comment's stored text is written, which decides how it is shown.

/// How a comment's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    /// Typed in a form here: shown escaped, blank lines between paragraphs, line breaks kept.
    Plain,
    /// Imported from WordPress, Disqus or Isso: HTML, sanitized again whenever it is shown.
    Html,
    /// Written in Isso's widget (posted through the Isso API): Markdown as typed, rendered and
    /// sanitized when shown, as Isso does, so the author's edit gets the text back as written.
    Markdown,
}
