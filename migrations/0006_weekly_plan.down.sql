drop table if exists weekly_plan;
