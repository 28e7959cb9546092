//! The domain: what a comment is once accepted, where it came from, and the rules that do not
//! depend on how it arrived or where it is stored. The web layer parses requests into these
//! types; storage keeps them; every origin (form, API, Akismet, import) goes through the same
//! rules.
//!
//! - [`draft`]: a submitted comment parsed into a [`CommentDraft`] (parse, don't validate: a
//!   draft that exists is valid).
//! - [`moderation`]: moderation [`Status`], the verdict → status policy, and which moderation
//!   decisions become labeled examples to learn from.
//! - [`origin`]: where a comment came from.
//! - [`site_rules`]: a site's own moderation rules (keys, links, time trap, reputation).
//! - [`article`]: an imported article ([`ArticleRecord`]), as the import reads it and storage keeps it.
//! - [`site`]: the sites one server hosts, their origins and settings, and thread keys.
//! - [`anchor`]: the fragment old links name an imported comment by.
//! - [`isso`]: Isso's moderation modes and times, for its API, import and export.
//! - [`comment_text`]: how a comment's text is written (plain, HTML, Markdown) and shown.
//! - [`unshowable`]: characters no feed, export or title may carry.

pub mod anchor;
pub mod article;
pub mod comment_text;
pub mod draft;
pub mod isso;
pub mod moderation;
pub mod origin;
pub mod sender_address;
pub mod site;
pub mod site_rules;
pub mod unshowable;

pub use anchor::{Anchor, old_anchor};
pub use article::ArticleRecord;
pub use comment_text::TextFormat;
pub use draft::{CommentDraft, FieldErrors, RawComment, Strictness};
pub use moderation::{Status, training_label};
pub use origin::Origin;
pub use site::{
    DEFAULT_SITE, DEFAULT_SITE_NAME, Moderation, Site, SiteName, SiteOrigin, SiteSettings, Thread,
};
