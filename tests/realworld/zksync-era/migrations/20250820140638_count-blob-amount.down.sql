ALTER TABLE l1_batches DROP COLUMN blobs_amount;
