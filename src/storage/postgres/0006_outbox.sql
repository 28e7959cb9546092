-- Notifications: the same outbox as SQLite's 0012_outbox.sql, filled by triggers in the
-- transaction of the comment or decision; replicas claim rows with a lease.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    site_id         BIGINT NOT NULL,
    comment_id      BIGINT NOT NULL,
    event           TEXT   NOT NULL,
    created_at      TEXT   NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT   NOT NULL,
    claimed_until   TEXT,
    state           TEXT   NOT NULL DEFAULT 'pending',
    last_error      TEXT,
    done_at         TEXT,
    -- Channels already delivered (`webhook`, `email`, comma-separated): a retry skips them.
    done_channels   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE FUNCTION outbox_comment_posted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.source IN ('form', 'api') THEN
        INSERT INTO outbox (site_id, comment_id, event, created_at, next_attempt_at)
        VALUES (NEW.site_id, NEW.id,
                CASE NEW.status WHEN 'published' THEN 'comment.published'
                                WHEN 'held' THEN 'comment.held'
                                ELSE 'comment.rejected' END,
                to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_comment_posted AFTER INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION outbox_comment_posted();

CREATE FUNCTION outbox_comment_moderated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IS DISTINCT FROM NEW.status AND NEW.source IN ('form', 'api') THEN
        INSERT INTO outbox (site_id, comment_id, event, created_at, next_attempt_at)
        VALUES (NEW.site_id, NEW.id, 'comment.moderated',
                to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_comment_moderated AFTER UPDATE OF status ON comments
    FOR EACH ROW EXECUTE FUNCTION outbox_comment_moderated();
