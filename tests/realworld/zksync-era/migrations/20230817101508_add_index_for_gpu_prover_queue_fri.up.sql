CREATE UNIQUE INDEX IF NOT EXISTS gpu_prover_queue_fri_host_port_zone_idx ON gpu_prover_queue_fri (instance_host, instance_port, zone);
