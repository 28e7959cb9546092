-- Several sites on one server (issue #24): the same tables and columns as SQLite's
-- 0010_sites.sql. Site 1 is the default site (the built-in articles, every older comment).
CREATE TABLE sites (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    settings   TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    removed_at TEXT
);
INSERT INTO sites (id, name, title, settings, created_at)
    VALUES (1, 'default', 'replyguard', '{}',
            to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
SELECT setval(pg_get_serial_sequence('sites', 'id'), 2, false);
CREATE TABLE site_origins (
    origin  TEXT   PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id)
);
CREATE INDEX site_origins_by_site ON site_origins (site_id);

CREATE TABLE threads (
    id         BIGSERIAL PRIMARY KEY,
    site_id    BIGINT NOT NULL REFERENCES sites(id),
    uri        TEXT   NOT NULL,
    title      TEXT   NOT NULL,
    created_at TEXT   NOT NULL,
    UNIQUE (site_id, uri)
);

ALTER TABLE comments ADD COLUMN site_id BIGINT NOT NULL DEFAULT 1 REFERENCES sites(id);

DROP INDEX comments_by_article_status;
CREATE INDEX comments_by_site_article_status ON comments (site_id, article, status, id);
DROP INDEX comments_by_article_email;
CREATE INDEX comments_by_site_article_email ON comments (site_id, article, author_email);
DROP INDEX comments_by_email_status;
CREATE INDEX comments_by_site_email_status ON comments (site_id, author_email, status);

-- Counts per site, thread, status and shard (see 0001_schema.sql for the shards).
DROP TRIGGER comment_counts_insert ON comments;
DROP TRIGGER comment_counts_delete ON comments;
DROP TRIGGER comment_counts_update ON comments;
DROP FUNCTION comment_counts_inserted();
DROP FUNCTION comment_counts_deleted();
DROP FUNCTION comment_counts_updated();
DROP FUNCTION comment_counts_apply(comment_counts[]);
DROP TABLE comment_counts;
CREATE TABLE comment_counts (
    site_id BIGINT   NOT NULL,
    article TEXT     NOT NULL,
    status  TEXT     NOT NULL,
    shard   SMALLINT NOT NULL,
    n       BIGINT   NOT NULL,
    PRIMARY KEY (site_id, article, status, shard)
);
INSERT INTO comment_counts (site_id, article, status, shard, n)
    SELECT site_id, article, status, 0, count(*) FROM comments GROUP BY site_id, article, status;
CREATE FUNCTION comment_counts_apply(delta_rows comment_counts[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO comment_counts (site_id, article, status, shard, n)
        SELECT site_id, article, status, shard, n FROM unnest(delta_rows) WHERE n <> 0
        ON CONFLICT (site_id, article, status, shard)
        DO UPDATE SET n = comment_counts.n + excluded.n;
$$;
CREATE FUNCTION comment_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM comment_counts_apply(ARRAY(
        SELECT ROW(site_id, article, status, (pg_backend_pid() % 16)::SMALLINT, count(*))::comment_counts
        FROM new_rows GROUP BY site_id, article, status));
    RETURN NULL;
END $$;
CREATE FUNCTION comment_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM comment_counts_apply(ARRAY(
        SELECT ROW(site_id, article, status, (pg_backend_pid() % 16)::SMALLINT, -count(*))::comment_counts
        FROM old_rows GROUP BY site_id, article, status));
    RETURN NULL;
END $$;
CREATE FUNCTION comment_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM comment_counts_apply(ARRAY(
        SELECT ROW(site_id, article, status, (pg_backend_pid() % 16)::SMALLINT, sum(n))::comment_counts
        FROM (SELECT site_id, article, status, 1 AS n FROM new_rows
              UNION ALL SELECT site_id, article, status, -1 FROM old_rows) moved
        GROUP BY site_id, article, status));
    RETURN NULL;
END $$;
CREATE TRIGGER comment_counts_insert AFTER INSERT ON comments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION comment_counts_inserted();
CREATE TRIGGER comment_counts_delete AFTER DELETE ON comments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION comment_counts_deleted();
CREATE TRIGGER comment_counts_update AFTER UPDATE ON comments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comment_counts_updated();
