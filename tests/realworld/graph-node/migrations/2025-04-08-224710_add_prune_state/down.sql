drop table subgraphs.prune_table_state;
drop table subgraphs.prune_state;
