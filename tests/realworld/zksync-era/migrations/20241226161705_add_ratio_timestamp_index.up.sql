CREATE INDEX IF NOT EXISTS base_token_ratios_ratio_timestamp_idx ON base_token_ratios (ratio_timestamp);
