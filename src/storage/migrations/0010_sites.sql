-- Several sites on one server (issue #24). A site has a name, a title, its own settings (JSON,
-- `domain::site::SiteSettings`) and the origins (scheme://host[:port]) its pages are served from;
-- an origin belongs to one site, so a request's Origin header names its site. Site 1 is the
-- default site: the articles replyguard serves itself, and every comment stored before sites.
-- A removed site keeps its row (its comments keep their site); adding its name again revives it.
CREATE TABLE sites (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    title      TEXT    NOT NULL,
    settings   TEXT    NOT NULL DEFAULT '{}',
    created_at TEXT    NOT NULL,
    removed_at TEXT
);
INSERT INTO sites (id, name, title, settings, created_at)
    VALUES (1, 'default', 'replyguard', '{}', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
CREATE TABLE site_origins (
    origin  TEXT    PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id)
);
CREATE INDEX site_origins_by_site ON site_origins (site_id);

-- A thread is a page of a site, keyed by its path; it is created with the first comment on it,
-- titled from the page. (The default site's articles are its threads: their titles are theirs.)
CREATE TABLE threads (
    id         INTEGER PRIMARY KEY,
    site_id    INTEGER NOT NULL REFERENCES sites(id),
    uri        TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    UNIQUE (site_id, uri)
);

-- Every comment belongs to a site; `article` is its thread within the site (the article's slug
-- on the default site, the page's path on an embedding site). SQLite cannot add a column with a
-- REFERENCES clause and a non-null default while foreign keys are on: the link is by convention.
ALTER TABLE comments ADD COLUMN site_id INTEGER NOT NULL DEFAULT 1;

DROP INDEX comments_by_article_status;
CREATE INDEX comments_by_site_article_status ON comments (site_id, article, status, id);
DROP INDEX comments_by_article_email;
CREATE INDEX comments_by_site_article_email ON comments (site_id, article, author_email);
-- The reputation rules look a reader up by e-mail address within the site.
DROP INDEX comments_by_email_status;
CREATE INDEX comments_by_site_email_status ON comments (site_id, author_email, status);

-- Counts per site, thread and status (two sites may both have a page `/`).
DROP TRIGGER comment_counts_insert;
DROP TRIGGER comment_counts_update;
DROP TRIGGER comment_counts_delete;
DROP TABLE comment_counts;
CREATE TABLE comment_counts (
    site_id INTEGER NOT NULL,
    article TEXT    NOT NULL,
    status  TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (site_id, article, status)
) WITHOUT ROWID;
INSERT INTO comment_counts (site_id, article, status, n)
    SELECT site_id, article, status, COUNT(*) FROM comments GROUP BY site_id, article, status;

CREATE TRIGGER comment_counts_insert AFTER INSERT ON comments BEGIN
    INSERT INTO comment_counts (site_id, article, status, n)
        VALUES (NEW.site_id, NEW.article, NEW.status, 1)
        ON CONFLICT (site_id, article, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER comment_counts_update AFTER UPDATE OF status, article, site_id ON comments
    WHEN OLD.status IS NOT NEW.status OR OLD.article IS NOT NEW.article
      OR OLD.site_id IS NOT NEW.site_id BEGIN
    UPDATE comment_counts SET n = n - 1
        WHERE site_id = OLD.site_id AND article = OLD.article AND status = OLD.status;
    INSERT INTO comment_counts (site_id, article, status, n)
        VALUES (NEW.site_id, NEW.article, NEW.status, 1)
        ON CONFLICT (site_id, article, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER comment_counts_delete AFTER DELETE ON comments BEGIN
    UPDATE comment_counts SET n = n - 1
        WHERE site_id = OLD.site_id AND article = OLD.article AND status = OLD.status;
END;
