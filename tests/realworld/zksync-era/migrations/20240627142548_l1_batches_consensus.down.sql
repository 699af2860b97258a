DROP TABLE l1_batches_consensus;
