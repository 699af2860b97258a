ALTER TABLE l1_batches DROP COLUMN settlement_layer_type;
ALTER TABLE l1_batches DROP COLUMN settlement_layer_chain_id;
ALTER TABLE l1_batches DROP COLUMN interop_fee;
