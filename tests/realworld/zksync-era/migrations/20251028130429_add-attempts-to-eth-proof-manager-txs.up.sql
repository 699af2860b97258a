ALTER TABLE eth_proof_manager ADD COLUMN validation_tx_attempts INT NOT NULL DEFAULT 0;
