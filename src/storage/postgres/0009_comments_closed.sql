-- An imported post whose comments were closed on the old site (WXR `wp:comment_status` closed)
-- stays closed: its page shows its comments and no form, and new comments are refused.
ALTER TABLE articles ADD COLUMN comments_open BOOLEAN NOT NULL DEFAULT TRUE;
