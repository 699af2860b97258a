ALTER TABLE eth_txs
    ALTER COLUMN predicted_gas_cost DROP NOT NULL;
