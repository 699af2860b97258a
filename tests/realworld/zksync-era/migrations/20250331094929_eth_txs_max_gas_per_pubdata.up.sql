ALTER TABLE eth_txs_history ADD COLUMN max_gas_per_pubdata BIGINT;
