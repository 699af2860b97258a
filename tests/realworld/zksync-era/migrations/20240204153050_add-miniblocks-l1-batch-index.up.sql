create index if not exists ix_miniblocks_t2
    on miniblocks (l1_batch_number, number);
