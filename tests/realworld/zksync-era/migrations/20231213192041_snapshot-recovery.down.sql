DROP TABLE IF EXISTS snapshot_recovery;
