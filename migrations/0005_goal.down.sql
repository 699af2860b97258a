drop table if exists goal;
