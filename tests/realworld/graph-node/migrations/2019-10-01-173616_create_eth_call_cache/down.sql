drop table eth_call_cache;
drop table eth_call_meta;
