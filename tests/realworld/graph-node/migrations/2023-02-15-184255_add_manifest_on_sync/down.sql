alter table subgraphs.subgraph_manifest
 drop column on_sync;
