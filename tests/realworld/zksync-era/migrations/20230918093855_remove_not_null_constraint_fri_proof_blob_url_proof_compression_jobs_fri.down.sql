ALTER TABLE proof_compression_jobs_fri
    ALTER COLUMN fri_proof_blob_url SET NOT NULL;
