-- Published comments per thread and block of 1,024 comment ids, kept by statement triggers in the
-- same transaction as the change, sharded like comment_counts (0001_schema.sql) so concurrent
-- writers to the newest block do not queue on one row. A page asked for by number sums these
-- counts to find the block where its first comment lies and skips at most one block's rows.
CREATE TABLE published_blocks (
    site_id BIGINT   NOT NULL,
    article TEXT     NOT NULL,
    block   BIGINT   NOT NULL,
    shard   SMALLINT NOT NULL,
    n       BIGINT   NOT NULL,
    PRIMARY KEY (site_id, article, block, shard)
);
INSERT INTO published_blocks (site_id, article, block, shard, n)
    SELECT site_id, article, id >> 10, 0, count(*) FROM comments WHERE status = 'published'
    GROUP BY site_id, article, id >> 10;
CREATE FUNCTION published_blocks_apply(delta_rows published_blocks[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO published_blocks (site_id, article, block, shard, n)
        SELECT site_id, article, block, shard, n FROM unnest(delta_rows) WHERE n <> 0
        ON CONFLICT (site_id, article, block, shard)
        DO UPDATE SET n = published_blocks.n + excluded.n;
$$;
CREATE FUNCTION published_blocks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM published_blocks_apply(ARRAY(
        SELECT ROW(site_id, article, id >> 10, (pg_backend_pid() % 16)::SMALLINT, count(*))::published_blocks
        FROM new_rows WHERE status = 'published' GROUP BY site_id, article, id >> 10));
    RETURN NULL;
END $$;
CREATE FUNCTION published_blocks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM published_blocks_apply(ARRAY(
        SELECT ROW(site_id, article, id >> 10, (pg_backend_pid() % 16)::SMALLINT, -count(*))::published_blocks
        FROM old_rows WHERE status = 'published' GROUP BY site_id, article, id >> 10));
    RETURN NULL;
END $$;
CREATE FUNCTION published_blocks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM published_blocks_apply(ARRAY(
        SELECT ROW(site_id, article, block, (pg_backend_pid() % 16)::SMALLINT, sum(n))::published_blocks
        FROM (SELECT site_id, article, id >> 10 AS block, 1 AS n FROM new_rows
                WHERE status = 'published'
              UNION ALL SELECT site_id, article, id >> 10, -1 FROM old_rows
                WHERE status = 'published') moved
        GROUP BY site_id, article, block));
    RETURN NULL;
END $$;
CREATE TRIGGER published_blocks_insert AFTER INSERT ON comments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION published_blocks_inserted();
CREATE TRIGGER published_blocks_delete AFTER DELETE ON comments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION published_blocks_deleted();
CREATE TRIGGER published_blocks_update AFTER UPDATE ON comments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION published_blocks_updated();
