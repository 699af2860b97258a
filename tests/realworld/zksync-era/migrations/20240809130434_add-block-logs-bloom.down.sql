ALTER TABLE miniblocks
    DROP COLUMN IF EXISTS logs_bloom;
