DROP TABLE consensus_committees;
ALTER TABLE consensus_replica_state ADD COLUMN genesis JSONB; 