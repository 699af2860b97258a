DROP TABLE IF EXISTS base_token_ratios;
