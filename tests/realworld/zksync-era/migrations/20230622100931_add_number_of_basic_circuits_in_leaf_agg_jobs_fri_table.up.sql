ALTER TABLE leaf_aggregation_witness_jobs_fri ADD COLUMN IF NOT EXISTS number_of_basic_circuits INT;

