ALTER TABLE consensus_replica_state DROP COLUMN global_config;

DROP TABLE l1_batches_consensus_committees;
