-- Progress of each cycle at a glance.
-- security_invoker (PostgreSQL 15+): the view reads the tables with the
-- privileges and row-level security of the querying role, so app_user sees
-- only its own cycles through it (a default view would run as its owner and
-- bypass RLS).

create or replace view cycle_progress with (security_invoker = true) as
select
  c.id                                   as cycle_id,
  c.owner_id,
  c.start_date,
  c.end_date,
  c.plan_locked_at is not null           as plan_locked,
  (select count(*) from goal g where g.cycle_id = c.id)                  as goal_count,
  (select count(*) from weekly_plan w where w.cycle_id = c.id)           as weeks_planned,
  (select coalesce(sum(w.quota), 0) from weekly_plan w where w.cycle_id = c.id) as total_quota,
  (select count(*) from task t where t.cycle_id = c.id)                  as task_count,
  (select count(*) from task t where t.cycle_id = c.id and t.status = 'done') as tasks_done
from cycle c;
