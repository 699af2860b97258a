ALTER TABLE node_aggregation_witness_jobs_fri ADD COLUMN IF NOT EXISTS number_of_dependent_jobs INTEGER;
