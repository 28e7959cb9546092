-- Readers' own changes to their comments (issue #24, the Isso-compatible API): when the author
-- last edited a comment, and the likes and dislikes readers gave it (one vote per reader and
-- comment; `voter` is a keyed hash of the reader's address, never the address itself).
ALTER TABLE comments ADD COLUMN edited_at TEXT;
CREATE TABLE comment_votes (
    comment_id INTEGER NOT NULL,
    voter      TEXT    NOT NULL,
    value      INTEGER NOT NULL,
    PRIMARY KEY (comment_id, voter)
) WITHOUT ROWID;
