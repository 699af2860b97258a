ALTER TABLE l1_batches DROP COLUMN IF EXISTS tree_writes;
