DROP INDEX IF EXISTS ix_events_t1;
DROP INDEX IF EXISTS ix_initial_writes_t1;
DROP INDEX IF EXISTS ix_miniblocks_t1;

DROP INDEX IF EXISTS ix_prover_jobs_circuits_0;
DROP INDEX IF EXISTS ix_prover_jobs_circuits_1;
DROP INDEX IF EXISTS ix_prover_jobs_circuits_2;
DROP INDEX IF EXISTS ix_prover_jobs_circuits_3;
DROP INDEX IF EXISTS ix_prover_jobs_circuits_4;
DROP INDEX IF EXISTS ix_prover_jobs_circuits_5;
DROP INDEX IF EXISTS ix_prover_jobs_circuits_6;
DROP INDEX IF EXISTS ix_prover_jobs_circuits_7;
DROP INDEX IF EXISTS ix_prover_jobs_circuits_8;
DROP INDEX IF EXISTS ix_prover_jobs_circuits_9;

DROP INDEX IF EXISTS ix_prover_jobs_t2;
DROP INDEX IF EXISTS ix_prover_jobs_t3;
