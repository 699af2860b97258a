DROP INDEX IF EXISTS transactions_contract_address_idx;
DROP INDEX IF EXISTS events_tx_initiator_address;
