-- Revoke only where the object still exists (robust on a half-built database).
do $$
declare
  t text;
begin
  foreach t in array array['users', 'vision', 'cycle', 'goal', 'weekly_plan', 'task',
                           'plan_item', 'chat_session', 'chat_message', 'audit_log',
                           'cycle_progress',
                           'users_id_seq', 'vision_id_seq', 'cycle_id_seq', 'goal_id_seq',
                           'weekly_plan_id_seq', 'task_id_seq', 'plan_item_id_seq',
                           'chat_session_id_seq', 'chat_message_id_seq'] loop
    if to_regclass(format('public.%I', t)) is not null then
      execute format('revoke all on public.%I from app_user, app_readonly', t);
    end if;
  end loop;
end $$;

drop policy if exists chat_message_readonly on chat_message;
drop policy if exists chat_message_owner on chat_message;
alter table if exists chat_message disable row level security;

drop policy if exists chat_session_readonly on chat_session;
drop policy if exists chat_session_owner on chat_session;
alter table if exists chat_session disable row level security;

drop policy if exists plan_item_readonly on plan_item;
drop policy if exists plan_item_owner on plan_item;
alter table if exists plan_item disable row level security;

drop policy if exists task_readonly on task;
drop policy if exists task_owner on task;
alter table if exists task disable row level security;

drop policy if exists weekly_plan_readonly on weekly_plan;
drop policy if exists weekly_plan_owner on weekly_plan;
alter table if exists weekly_plan disable row level security;

drop policy if exists goal_readonly on goal;
drop policy if exists goal_owner on goal;
alter table if exists goal disable row level security;

drop policy if exists cycle_readonly on cycle;
drop policy if exists cycle_owner on cycle;
alter table if exists cycle disable row level security;

drop policy if exists vision_readonly on vision;
drop policy if exists vision_owner on vision;
alter table if exists vision disable row level security;

drop policy if exists users_readonly on users;
drop policy if exists users_self on users;
alter table if exists users disable row level security;
