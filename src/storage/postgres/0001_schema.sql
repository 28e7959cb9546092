-- replyguard's schema on PostgreSQL: the same tables as the SQLite migrations 0001–0007, in one
-- step. Timestamps are RFC 3339 text, as on SQLite, so both backends return the same values.
CREATE TABLE api_keys (
    id          BIGSERIAL PRIMARY KEY,
    key_sha256  TEXT    NOT NULL UNIQUE,
    key_prefix  TEXT    NOT NULL,
    note        TEXT,
    quota       BIGINT,
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE api_key_blogs (
    key_id BIGINT NOT NULL REFERENCES api_keys(id),
    blog   TEXT   NOT NULL,
    PRIMARY KEY (key_id, blog)
);
CREATE TABLE api_usage (
    key_id BIGINT NOT NULL REFERENCES api_keys(id),
    month  TEXT   NOT NULL,
    calls  BIGINT NOT NULL,
    PRIMARY KEY (key_id, month)
);
CREATE TABLE training_examples (
    id         BIGSERIAL PRIMARY KEY,
    label      TEXT NOT NULL CHECK (label IN ('spam', 'ham')),
    record     TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE comments (
    id               BIGSERIAL PRIMARY KEY,
    article          TEXT    NOT NULL,
    parent_id        BIGINT REFERENCES comments(id),
    author           TEXT    NOT NULL,
    author_email     TEXT    NOT NULL,
    author_url       TEXT,
    content          TEXT    NOT NULL,
    user_ip          TEXT,
    user_agent       TEXT,
    referrer         TEXT,
    status           TEXT    NOT NULL CHECK (status IN ('published', 'held', 'spam', 'trash')),
    verdict          TEXT    NOT NULL CHECK (verdict IN ('published', 'held', 'rejected')),
    spam_probability DOUBLE PRECISION NOT NULL,
    clues            TEXT    NOT NULL,
    model_version    TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    akismet_guid     TEXT,
    api_key_id       BIGINT REFERENCES api_keys(id),
    remote_id        TEXT,
    remote_parent    TEXT,
    comment_type     TEXT    NOT NULL DEFAULT 'comment',
    content_format   TEXT    NOT NULL DEFAULT 'text' CHECK (content_format IN ('text', 'html'))
);
CREATE INDEX comments_by_article_status ON comments (article, status, id);
CREATE INDEX comments_by_status ON comments (status, id);
CREATE INDEX comments_by_guid ON comments (akismet_guid);
CREATE INDEX comments_by_article_email ON comments (article, author_email);
CREATE UNIQUE INDEX comments_by_remote_id ON comments (remote_id) WHERE remote_id IS NOT NULL;

CREATE TABLE comment_events (
    id          BIGSERIAL PRIMARY KEY,
    comment_id  BIGINT NOT NULL REFERENCES comments(id),
    from_status TEXT,
    to_status   TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    at          TEXT   NOT NULL
);
CREATE INDEX comment_events_by_comment ON comment_events (comment_id, id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Comments per article and status, kept by a trigger in the same transaction as the change.
-- Spread over 16 shards (by server process): transactions of different connections update
-- different rows, so concurrent commits never wait on one counter row; readers add the shards.
CREATE TABLE comment_counts (
    article TEXT     NOT NULL,
    status  TEXT     NOT NULL,
    shard   SMALLINT NOT NULL,
    n       BIGINT   NOT NULL,
    PRIMARY KEY (article, status, shard)
);
-- Statement-level, over the statement's transition tables: one upsert per (article, status) a
-- statement touches, not one per row (a row trigger updating the same counter row for every
-- comment of a big insert makes each update walk a longer chain of row versions).
CREATE FUNCTION comment_counts_apply(delta_rows comment_counts[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO comment_counts (article, status, shard, n)
        SELECT article, status, shard, n FROM unnest(delta_rows) WHERE n <> 0
        ON CONFLICT (article, status, shard) DO UPDATE SET n = comment_counts.n + excluded.n;
$$;
CREATE FUNCTION comment_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM comment_counts_apply(ARRAY(
        SELECT ROW(article, status, (pg_backend_pid() % 16)::SMALLINT, count(*))::comment_counts
        FROM new_rows GROUP BY article, status));
    RETURN NULL;
END $$;
CREATE FUNCTION comment_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM comment_counts_apply(ARRAY(
        SELECT ROW(article, status, (pg_backend_pid() % 16)::SMALLINT, -count(*))::comment_counts
        FROM old_rows GROUP BY article, status));
    RETURN NULL;
END $$;
CREATE FUNCTION comment_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM comment_counts_apply(ARRAY(
        SELECT ROW(article, status, (pg_backend_pid() % 16)::SMALLINT, sum(n))::comment_counts
        FROM (SELECT article, status, 1 AS n FROM new_rows
              UNION ALL SELECT article, status, -1 FROM old_rows) moved
        GROUP BY article, status));
    RETURN NULL;
END $$;
CREATE TRIGGER comment_counts_insert AFTER INSERT ON comments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION comment_counts_inserted();
CREATE TRIGGER comment_counts_delete AFTER DELETE ON comments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION comment_counts_deleted();
CREATE TRIGGER comment_counts_update AFTER UPDATE ON comments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comment_counts_updated();

CREATE TABLE learning_log (
    id         BIGSERIAL PRIMARY KEY,
    comment_id BIGINT REFERENCES comments(id),
    label      TEXT     NOT NULL CHECK (label IN ('spam', 'ham')),
    sign       SMALLINT NOT NULL CHECK (sign IN (1, -1)),
    record     TEXT     NOT NULL,
    source     TEXT     NOT NULL,
    at         TEXT     NOT NULL
);

CREATE TABLE articles (
    slug        TEXT    PRIMARY KEY,
    remote_id   TEXT    NOT NULL UNIQUE,
    title       TEXT    NOT NULL,
    date        TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    html        TEXT    NOT NULL,
    link        TEXT,
    link_path   TEXT,
    wp_post_id  BIGINT,
    public      BOOLEAN NOT NULL,
    imported_at TEXT    NOT NULL
);
CREATE INDEX articles_by_wp_post_id ON articles (wp_post_id);
CREATE INDEX articles_by_link_path ON articles (link_path);
CREATE TABLE article_aliases (
    remote_id TEXT PRIMARY KEY,
    slug      TEXT NOT NULL
);

CREATE TABLE admin_sessions (
    id_sha256  TEXT   PRIMARY KEY,
    csrf       TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Posting limits per client address (flood check, per-minute rate), shared by every replica.
-- Times are milliseconds of the database's clock.
CREATE TABLE post_guard (
    address         TEXT   PRIMARY KEY,
    last_ms         BIGINT NOT NULL,
    window_start_ms BIGINT NOT NULL,
    in_window       BIGINT NOT NULL
);
