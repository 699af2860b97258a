ALTER TABLE eth_txs DROP COLUMN chain_id;
