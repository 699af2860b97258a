drop table if exists plan_item;
drop table if exists task;
