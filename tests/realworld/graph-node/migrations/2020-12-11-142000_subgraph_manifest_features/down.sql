alter table
    subgraphs.subgraph_manifest
drop
    column features;
