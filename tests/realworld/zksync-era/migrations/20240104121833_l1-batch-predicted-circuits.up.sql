ALTER TABLE l1_batches
    ADD COLUMN IF NOT EXISTS predicted_circuits INT;
