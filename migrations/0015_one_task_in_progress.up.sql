-- ONE TASK IN PROGRESS PER CYCLE.
--
-- Starting a task (its status becomes 'in_progress') is refused while another
-- task of the same cycle is in progress: SQLSTATE PH002 with the message
--   task <id> cannot start: cycle <id> already has a task in progress
-- Only the start is checked (an UPDATE of status), so rows loaded or inserted
-- as they are keep loading.
--
-- The check reads other rows of the cycle, so it is a race: two transactions
-- starting two tasks at once would each see none in progress and both commit.
-- The trigger first locks the cycle row (FOR NO KEY UPDATE, which conflicts
-- with itself and not with foreign-key checks), so starts within one cycle
-- take turns and the second sees the first. The race property
-- properties/task_start_race.toml drives both orders of every step.

create or replace function task_one_in_progress() returns trigger
language plpgsql
as $$
begin
  if new.status = 'in_progress' and old.status is distinct from 'in_progress' then
    perform 1 from cycle c where c.id = new.cycle_id for no key update;

    if exists (select 1 from task t
                where t.cycle_id = new.cycle_id
                  and t.status = 'in_progress'
                  and t.id <> new.id) then
      raise exception using
        errcode = 'PH002',
        message = format('task %s cannot start: cycle %s already has a task in progress',
                         new.id, new.cycle_id),
        hint    = 'Finish or pause the task in progress first.';
    end if;
  end if;
  return new;
end $$;

comment on function task_one_in_progress() is
  'One task in progress per cycle: starting a second one raises SQLSTATE PH002.';

drop trigger if exists task_one_in_progress on task;
create trigger task_one_in_progress
  before update of status on task
  for each row execute function task_one_in_progress();
