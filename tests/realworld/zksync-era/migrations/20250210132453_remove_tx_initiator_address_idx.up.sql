DROP INDEX IF EXISTS events_tx_initiator_address_idx;
