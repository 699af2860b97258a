DROP TABLE IF EXISTS prover_fri_protocol_versions;
