-- Readers' own changes to their comments: the same columns and table as SQLite's
-- 0011_reader_edits.sql.
ALTER TABLE comments ADD COLUMN edited_at TEXT;
CREATE TABLE comment_votes (
    comment_id BIGINT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    voter      TEXT   NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (comment_id, voter)
);
