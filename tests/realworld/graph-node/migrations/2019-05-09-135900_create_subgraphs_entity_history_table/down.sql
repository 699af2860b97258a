-- Delete the entity_history table for the subgraph of subgraphs.
drop table subgraphs.entity_history;
