ALTER TABLE prover_jobs_fri DROP COLUMN IF EXISTS is_node_final_proof;
