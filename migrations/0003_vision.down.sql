drop table if exists vision;
