DROP TABLE IF EXISTS proof_generation_details;

DROP INDEX IF EXISTS idx_proof_generation_details_status_prover_taken_at;
