ALTER TABLE l1_batches DROP COLUMN IF EXISTS fee_account_address;
