DROP INDEX IF EXISTS ix_initial_writes_t1;
