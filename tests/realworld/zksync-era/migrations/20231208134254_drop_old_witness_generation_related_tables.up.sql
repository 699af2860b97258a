DROP TABLE IF EXISTS witness_inputs;
DROP TABLE IF EXISTS leaf_aggregation_witness_jobs;
DROP TABLE IF EXISTS node_aggregation_witness_jobs;
DROP TABLE IF EXISTS scheduler_witness_jobs;
