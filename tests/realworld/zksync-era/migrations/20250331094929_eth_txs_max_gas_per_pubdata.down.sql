ALTER TABLE eth_txs_history DROP COLUMN max_gas_per_pubdata;
