-- THE WEEK LOCK.
--
-- Once a cycle's plan is locked (cycle.plan_locked_at is not null), the rows
-- of weeks 7-12 of its weekly plan are frozen:
--   * UPDATE that changes quota                 -> rejected
--   * UPDATE that moves the row (week_no or
--     cycle_id changes)                         -> rejected
--   * DELETE                                    -> rejected (else delete +
--                                                  insert would bypass the lock)
-- Rejections raise SQLSTATE PH001 (class "PH" = pgharness planner; classes
-- starting with P-Z are implementation-defined in the SQL standard and "PH"
-- is not used by PostgreSQL) with the message
--   week <n> of cycle <id> is locked: ...
--
-- Still allowed:
--   * weeks 1-6, and every week of an unlocked cycle;
--   * an UPDATE that leaves quota, week_no and cycle_id unchanged (notes...);
--   * INSERT of a missing week, also weeks 7-12 of a locked cycle: the lock
--     freezes quotas that exist, it does not stop a plan from being completed
--     (and data loads / seed generators may insert locked cycles' weeks);
--   * deleting the cycle (or its owner): the cascaded deletes no longer see
--     the cycle, so it is no longer locked;
--   * unlocking (plan_locked_at back to NULL): the app decides who may.
--
-- SECURITY DEFINER so that the lookup of the cycle is not filtered by
-- row-level security: the lock holds whatever role changes the row.
-- FOR SHARE on the cycle row: a concurrent transaction cannot lock the plan
-- between this check and our commit.

create or replace function weekly_plan_week_lock() returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_locked_at timestamptz;
  v_what      text;
begin
  if old.week_no not between 7 and 12 then
    return case when tg_op = 'DELETE' then old else new end;
  end if;

  if tg_op = 'UPDATE' then
    if new.cycle_id is distinct from old.cycle_id
       or new.week_no is distinct from old.week_no then
      v_what := 'it cannot be moved';
    elsif new.quota is distinct from old.quota then
      v_what := 'its quota cannot change';
    else
      return new;
    end if;
  else
    v_what := 'it cannot be deleted';
  end if;

  select c.plan_locked_at into v_locked_at
    from cycle c
   where c.id = old.cycle_id
     for share;

  if v_locked_at is not null then
    raise exception using
      errcode = 'PH001',
      message = format('week %s of cycle %s is locked: %s once the plan is locked (weeks 7-12)',
                       old.week_no, old.cycle_id, v_what),
      detail  = format('cycle %s has plan_locked_at = %s', old.cycle_id, v_locked_at),
      hint    = 'Weeks 1-6 stay editable. Set cycle.plan_locked_at to NULL to unlock weeks 7-12.';
  end if;

  return case when tg_op = 'DELETE' then old else new end;
end $$;

comment on function weekly_plan_week_lock() is
  'Week lock: weeks 7-12 of a locked cycle cannot change quota, move or be deleted. Raises SQLSTATE PH001.';

drop trigger if exists weekly_plan_week_lock on weekly_plan;
create trigger weekly_plan_week_lock
  before update of quota, week_no, cycle_id or delete on weekly_plan
  for each row execute function weekly_plan_week_lock();
