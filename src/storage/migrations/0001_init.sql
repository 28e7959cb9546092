-- Comments with the raw submission, the classifier's decision and the current moderation status.
CREATE TABLE comments (
    id               INTEGER PRIMARY KEY,
    article          TEXT    NOT NULL,
    parent_id        INTEGER REFERENCES comments(id),
    author           TEXT    NOT NULL,
    author_email     TEXT    NOT NULL,
    author_url       TEXT,
    content          TEXT    NOT NULL,
    user_ip          TEXT,
    user_agent       TEXT,
    referrer         TEXT,
    status           TEXT    NOT NULL CHECK (status IN ('published', 'held', 'spam', 'trash')),
    verdict          TEXT    NOT NULL CHECK (verdict IN ('published', 'held', 'rejected')),
    spam_probability REAL    NOT NULL,
    clues            TEXT    NOT NULL,
    model_version    TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    created_at       TEXT    NOT NULL
);
CREATE INDEX comments_by_article_status ON comments (article, status, id);
CREATE INDEX comments_by_status ON comments (status, id);

-- Status history: who changed what, when. The first row of a comment is the classifier's verdict.
CREATE TABLE comment_events (
    id          INTEGER PRIMARY KEY,
    comment_id  INTEGER NOT NULL REFERENCES comments(id),
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    at          TEXT    NOT NULL
);
CREATE INDEX comment_events_by_comment ON comment_events (comment_id, id);

-- Server settings such as the admin token hash.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
