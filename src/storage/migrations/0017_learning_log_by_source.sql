-- A site's implicit-ham entries are counted before each is added (IMPLICIT_PER_SITE): through
-- this index, a count reads those entries, not the whole log.
CREATE INDEX learning_log_by_source ON learning_log (source, comment_id);
