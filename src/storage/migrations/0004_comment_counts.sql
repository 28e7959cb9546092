-- Comments per article and status, kept by triggers in the same transaction as the change, so
-- the article page and /metrics read a count in O(1) instead of counting rows on every request.
CREATE TABLE comment_counts (
    article TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (article, status)
) WITHOUT ROWID;

INSERT INTO comment_counts (article, status, n)
    SELECT article, status, COUNT(*) FROM comments GROUP BY article, status;

CREATE TRIGGER comment_counts_insert AFTER INSERT ON comments BEGIN
    INSERT INTO comment_counts (article, status, n) VALUES (NEW.article, NEW.status, 1)
        ON CONFLICT (article, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER comment_counts_update AFTER UPDATE OF status, article ON comments
    WHEN OLD.status IS NOT NEW.status OR OLD.article IS NOT NEW.article BEGIN
    UPDATE comment_counts SET n = n - 1 WHERE article = OLD.article AND status = OLD.status;
    INSERT INTO comment_counts (article, status, n) VALUES (NEW.article, NEW.status, 1)
        ON CONFLICT (article, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER comment_counts_delete AFTER DELETE ON comments BEGIN
    UPDATE comment_counts SET n = n - 1 WHERE article = OLD.article AND status = OLD.status;
END;
