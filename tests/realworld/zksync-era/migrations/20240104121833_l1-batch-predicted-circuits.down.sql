ALTER TABLE l1_batches
    DROP COLUMN IF EXISTS predicted_circuits;
