ALTER TABLE eth_proof_manager ADD COLUMN requested_reward BIGINT NOT NULL DEFAULT 0;
