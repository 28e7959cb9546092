-- Notifications (issue #25): every event a site may want to hear of is written to the outbox by
-- a trigger, in the same transaction as the comment or the decision that causes it, so a crash
-- loses none; a worker delivers them (webhooks), and with several replicas exactly one claims
-- each (a lease in claimed_until). Readers' comments only: imports and Akismet checks are not
-- the site's news.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    site_id         INTEGER NOT NULL,
    comment_id      INTEGER NOT NULL,
    event           TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    claimed_until   TEXT,
    state           TEXT    NOT NULL DEFAULT 'pending',
    last_error      TEXT,
    done_at         TEXT,
    -- Channels already delivered (`webhook`, `email`, comma-separated): a retry skips them.
    done_channels   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TRIGGER outbox_comment_posted AFTER INSERT ON comments
    WHEN NEW.source IN ('form', 'api') BEGIN
    INSERT INTO outbox (site_id, comment_id, event, created_at, next_attempt_at)
        VALUES (NEW.site_id, NEW.id,
                CASE NEW.status WHEN 'published' THEN 'comment.published'
                                WHEN 'held' THEN 'comment.held'
                                ELSE 'comment.rejected' END,
                strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
END;

CREATE TRIGGER outbox_comment_moderated AFTER UPDATE OF status ON comments
    WHEN OLD.status IS NOT NEW.status AND NEW.source IN ('form', 'api') BEGIN
    INSERT INTO outbox (site_id, comment_id, event, created_at, next_attempt_at)
        VALUES (NEW.site_id, NEW.id, 'comment.moderated',
                strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
END;
