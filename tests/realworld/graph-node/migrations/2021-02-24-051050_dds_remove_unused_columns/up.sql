alter table subgraphs.dynamic_ethereum_contract_data_source
      drop column kind,
      drop column network;
