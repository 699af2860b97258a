ALTER TABLE data_availability ADD COLUMN client_type TEXT;
