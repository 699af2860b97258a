ALTER TABLE l1_batches
    DROP COLUMN IF EXISTS storage_refunds;
