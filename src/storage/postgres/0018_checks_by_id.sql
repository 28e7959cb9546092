-- The implicit-ham pass over Akismet keys' checks walks them in id order from its cursor; without
-- this index it walked every comment of the site after the cursor, every second, to find none.
CREATE INDEX comments_checks_by_id ON comments (id) WHERE api_key_id IS NOT NULL;
