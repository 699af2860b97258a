DROP TABLE IF EXISTS gpu_prover_queue;

DROP TABLE IF EXISTS prover_jobs;

DROP TABLE IF EXISTS prover_protocol_versions;
