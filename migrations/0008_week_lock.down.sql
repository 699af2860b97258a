drop trigger if exists weekly_plan_week_lock on weekly_plan;
drop function if exists weekly_plan_week_lock();
