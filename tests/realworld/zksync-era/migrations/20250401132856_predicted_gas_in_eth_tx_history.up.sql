ALTER TABLE eth_txs_history ADD COLUMN predicted_gas_limit BIGINT;
