-- Row-level security and grants for the app roles (roles come from
-- bootstrap.sql, not from migrations: they are cluster-wide).
--
--   app_user      sees and writes only its own rows. "Own" is keyed on the
--                 setting app.user_id, which the app sets per transaction:
--                   set local role app_user;
--                   select set_config('app.user_id', '42', true);
--                 Unset or empty app.user_id: no rows at all.
--   app_readonly  reads every row (reporting, support), writes nothing.
--
-- Tables without a user column are owned through their cycle / session.
-- audit_log: no RLS; app_readonly may read it, app_user has no privileges
-- (it is written by the SECURITY DEFINER trigger of 0009).

-- users: an app user sees its own account row
alter table users enable row level security;
drop policy if exists users_self on users;
create policy users_self on users for all to app_user
  using (id = nullif(current_setting('app.user_id', true), '')::bigint)
  with check (id = nullif(current_setting('app.user_id', true), '')::bigint);
drop policy if exists users_readonly on users;
create policy users_readonly on users for select to app_readonly using (true);

-- vision
alter table vision enable row level security;
drop policy if exists vision_owner on vision;
create policy vision_owner on vision for all to app_user
  using (user_id = nullif(current_setting('app.user_id', true), '')::bigint)
  with check (user_id = nullif(current_setting('app.user_id', true), '')::bigint);
drop policy if exists vision_readonly on vision;
create policy vision_readonly on vision for select to app_readonly using (true);

-- cycle
alter table cycle enable row level security;
drop policy if exists cycle_owner on cycle;
create policy cycle_owner on cycle for all to app_user
  using (owner_id = nullif(current_setting('app.user_id', true), '')::bigint)
  with check (owner_id = nullif(current_setting('app.user_id', true), '')::bigint);
drop policy if exists cycle_readonly on cycle;
create policy cycle_readonly on cycle for select to app_readonly using (true);

-- goal, weekly_plan, task: owned through their cycle
alter table goal enable row level security;
drop policy if exists goal_owner on goal;
create policy goal_owner on goal for all to app_user
  using (exists (select 1 from cycle c where c.id = goal.cycle_id
                   and c.owner_id = nullif(current_setting('app.user_id', true), '')::bigint))
  with check (exists (select 1 from cycle c where c.id = goal.cycle_id
                   and c.owner_id = nullif(current_setting('app.user_id', true), '')::bigint));
drop policy if exists goal_readonly on goal;
create policy goal_readonly on goal for select to app_readonly using (true);

alter table weekly_plan enable row level security;
drop policy if exists weekly_plan_owner on weekly_plan;
create policy weekly_plan_owner on weekly_plan for all to app_user
  using (exists (select 1 from cycle c where c.id = weekly_plan.cycle_id
                   and c.owner_id = nullif(current_setting('app.user_id', true), '')::bigint))
  with check (exists (select 1 from cycle c where c.id = weekly_plan.cycle_id
                   and c.owner_id = nullif(current_setting('app.user_id', true), '')::bigint));
drop policy if exists weekly_plan_readonly on weekly_plan;
create policy weekly_plan_readonly on weekly_plan for select to app_readonly using (true);

alter table task enable row level security;
drop policy if exists task_owner on task;
create policy task_owner on task for all to app_user
  using (exists (select 1 from cycle c where c.id = task.cycle_id
                   and c.owner_id = nullif(current_setting('app.user_id', true), '')::bigint))
  with check (exists (select 1 from cycle c where c.id = task.cycle_id
                   and c.owner_id = nullif(current_setting('app.user_id', true), '')::bigint));
drop policy if exists task_readonly on task;
create policy task_readonly on task for select to app_readonly using (true);

-- plan_item: owned through its week's cycle
alter table plan_item enable row level security;
drop policy if exists plan_item_owner on plan_item;
create policy plan_item_owner on plan_item for all to app_user
  using (exists (select 1 from weekly_plan w join cycle c on c.id = w.cycle_id
                  where w.id = plan_item.weekly_plan_id
                    and c.owner_id = nullif(current_setting('app.user_id', true), '')::bigint))
  with check (exists (select 1 from weekly_plan w join cycle c on c.id = w.cycle_id
                  where w.id = plan_item.weekly_plan_id
                    and c.owner_id = nullif(current_setting('app.user_id', true), '')::bigint));
drop policy if exists plan_item_readonly on plan_item;
create policy plan_item_readonly on plan_item for select to app_readonly using (true);

-- chat_session, chat_message (owned through its session)
alter table chat_session enable row level security;
drop policy if exists chat_session_owner on chat_session;
create policy chat_session_owner on chat_session for all to app_user
  using (user_id = nullif(current_setting('app.user_id', true), '')::bigint)
  with check (user_id = nullif(current_setting('app.user_id', true), '')::bigint);
drop policy if exists chat_session_readonly on chat_session;
create policy chat_session_readonly on chat_session for select to app_readonly using (true);

alter table chat_message enable row level security;
drop policy if exists chat_message_owner on chat_message;
create policy chat_message_owner on chat_message for all to app_user
  using (exists (select 1 from chat_session s where s.id = chat_message.session_id
                   and s.user_id = nullif(current_setting('app.user_id', true), '')::bigint))
  with check (exists (select 1 from chat_session s where s.id = chat_message.session_id
                   and s.user_id = nullif(current_setting('app.user_id', true), '')::bigint));
drop policy if exists chat_message_readonly on chat_message;
create policy chat_message_readonly on chat_message for select to app_readonly using (true);

-- grants (GRANT is idempotent)
grant select, insert, update, delete
  on users, vision, cycle, goal, weekly_plan, task, plan_item, chat_session, chat_message
  to app_user;
grant select on cycle_progress to app_user;
grant usage
  on sequence users_id_seq, vision_id_seq, cycle_id_seq, goal_id_seq, weekly_plan_id_seq,
              task_id_seq, plan_item_id_seq, chat_session_id_seq, chat_message_id_seq
  to app_user;

grant select
  on users, vision, cycle, goal, weekly_plan, task, plan_item, chat_session, chat_message,
     audit_log, cycle_progress
  to app_readonly;
