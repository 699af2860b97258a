ALTER TABLE subgraphs.deployment DROP COLUMN postponed_indexes_created;
