-- An imported comment's remote id is its old system's, unique within one site: two sites moved
-- from two Isso databases both have an `isso:1`.
DROP INDEX comments_by_remote_id;
CREATE UNIQUE INDEX comments_by_remote_id ON comments (site_id, remote_id) WHERE remote_id IS NOT NULL;
