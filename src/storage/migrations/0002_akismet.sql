-- Akismet API keys, stored hashed; each key is bound to one or more blog URLs.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    key_sha256  TEXT    NOT NULL UNIQUE,
    key_prefix  TEXT    NOT NULL,
    note        TEXT,
    quota       INTEGER,
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE api_key_blogs (
    key_id INTEGER NOT NULL REFERENCES api_keys(id),
    blog   TEXT    NOT NULL,
    PRIMARY KEY (key_id, blog)
);
-- Calls per key and month, for /1.2/usage-limit.
CREATE TABLE api_usage (
    key_id INTEGER NOT NULL REFERENCES api_keys(id),
    month  TEXT    NOT NULL,
    calls  INTEGER NOT NULL,
    PRIMARY KEY (key_id, month)
);
-- Labeled examples from submit-spam / submit-ham, as replyguard JSONL records.
CREATE TABLE training_examples (
    id         INTEGER PRIMARY KEY,
    label      TEXT    NOT NULL CHECK (label IN ('spam', 'ham')),
    record     TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
-- Comments checked through the Akismet API carry the check's guid and the key that sent them.
ALTER TABLE comments ADD COLUMN akismet_guid TEXT;
ALTER TABLE comments ADD COLUMN api_key_id INTEGER REFERENCES api_keys(id);
CREATE INDEX comments_by_guid ON comments (akismet_guid);
