ALTER TABLE proof_generation_details DROP COLUMN IF EXISTS vm_run_data_blob_url;
DROP TABLE IF EXISTS vm_runner_bwip;
