ALTER TABLE miniblocks ADD COLUMN gas_limit BIGINT;
