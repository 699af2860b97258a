drop table if exists cycle;
