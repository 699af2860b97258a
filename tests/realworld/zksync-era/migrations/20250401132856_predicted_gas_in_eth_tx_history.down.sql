ALTER TABLE eth_txs_history DROP COLUMN predicted_gas_limit;
