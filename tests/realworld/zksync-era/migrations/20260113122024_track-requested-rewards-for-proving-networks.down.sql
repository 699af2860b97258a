ALTER TABLE eth_proof_manager DROP COLUMN requested_reward;
