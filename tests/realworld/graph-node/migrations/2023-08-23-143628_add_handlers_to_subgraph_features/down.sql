alter table subgraphs.subgraph_features
drop column handlers;
