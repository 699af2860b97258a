ALTER TABLE subgraphs.dynamic_ethereum_contract_data_source ADD COLUMN context text;
