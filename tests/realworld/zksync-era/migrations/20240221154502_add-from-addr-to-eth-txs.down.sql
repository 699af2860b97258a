ALTER TABLE eth_txs DROP COLUMN from_addr;
