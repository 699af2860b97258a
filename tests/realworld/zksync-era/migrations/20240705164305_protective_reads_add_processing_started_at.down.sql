ALTER TABLE vm_runner_protective_reads DROP COLUMN IF EXISTS processing_started_at;
