ALTER TABLE contract_verification_requests
  ALTER COLUMN zk_compiler_version SET NOT NULL;
