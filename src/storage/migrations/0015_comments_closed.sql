-- An imported post whose comments were closed on the old site (WXR `wp:comment_status` closed)
-- stays closed: its page shows its comments and no form, and new comments are refused.
ALTER TABLE articles ADD COLUMN comments_open INTEGER NOT NULL DEFAULT 1 CHECK (comments_open IN (0, 1));
