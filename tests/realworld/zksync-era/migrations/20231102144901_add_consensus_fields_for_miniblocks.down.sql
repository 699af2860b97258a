ALTER TABLE miniblocks
    DROP COLUMN IF EXISTS consensus;
