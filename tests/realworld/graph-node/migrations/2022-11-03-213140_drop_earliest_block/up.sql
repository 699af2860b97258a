alter table subgraphs.subgraph_deployment
  drop column earliest_ethereum_block_number,
  drop column earliest_ethereum_block_hash;
