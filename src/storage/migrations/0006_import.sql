-- A site's history brought in by `replyguard import`.
-- Comments remember the id they had on the site they came from (`wordpress:123`, `disqus:456`),
-- so importing a file again changes nothing, and the remote id of their parent, so that replies
-- find their parent whatever the order of the file. Imported comment text is HTML (sanitized on
-- the way in); comments typed here are plain text.
ALTER TABLE comments ADD COLUMN remote_id TEXT;
ALTER TABLE comments ADD COLUMN remote_parent TEXT;
ALTER TABLE comments ADD COLUMN comment_type TEXT NOT NULL DEFAULT 'comment';
ALTER TABLE comments ADD COLUMN content_format TEXT NOT NULL DEFAULT 'text'
    CHECK (content_format IN ('text', 'html'));
CREATE UNIQUE INDEX comments_by_remote_id ON comments (remote_id) WHERE remote_id IS NOT NULL;

-- Imported articles (WordPress posts and pages, Disqus threads). Articles written as Markdown
-- files are served from their directory; these are served from the database. `public` is 0 for
-- drafts, private and password-protected posts, and for posts known only from a comment dump:
-- their comments are kept (and teach the filter) but the article is not shown.
CREATE TABLE articles (
    slug        TEXT    PRIMARY KEY,
    remote_id   TEXT    NOT NULL UNIQUE,
    title       TEXT    NOT NULL,
    date        TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    html        TEXT    NOT NULL,
    link        TEXT,
    -- The path of `link` (`/2017/03/01/hello-world/`): old permalinks redirect here.
    link_path   TEXT,
    wp_post_id  INTEGER,
    public      INTEGER NOT NULL CHECK (public IN (0, 1)),
    imported_at TEXT    NOT NULL
);
CREATE INDEX articles_by_wp_post_id ON articles (wp_post_id);
CREATE INDEX articles_by_link_path ON articles (link_path);

-- Threads of another system that belong to an article already here (a Disqus thread of an
-- imported WordPress post, or of a Markdown article with the same slug).
CREATE TABLE article_aliases (
    remote_id TEXT PRIMARY KEY,
    slug      TEXT NOT NULL
);
