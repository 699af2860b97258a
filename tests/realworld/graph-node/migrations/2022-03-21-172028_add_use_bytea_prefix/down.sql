alter table subgraphs.subgraph_manifest
      drop column use_bytea_prefix;
