ALTER TABLE l1_batches DROP COLUMN pubdata_limit;
