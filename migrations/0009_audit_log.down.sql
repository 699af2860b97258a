drop trigger if exists weekly_plan_audit on weekly_plan;
drop trigger if exists goal_audit on goal;
drop function if exists audit_row_change();
drop table if exists audit_log;
