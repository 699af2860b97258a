DROP TABLE consensus_replica_state;
