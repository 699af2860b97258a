-- Enum types used by the planner.
-- CREATE TYPE has no IF NOT EXISTS: a DO block swallows duplicate_object so
-- the script can run again on a database that already has the types.

do $$ begin
  create type goal_kind as enum (
    'career', 'health', 'relationships', 'finance', 'learning', 'personal'
  );
exception when duplicate_object then null;
end $$;

do $$ begin
  create type task_status as enum ('todo', 'in_progress', 'done', 'cancelled');
exception when duplicate_object then null;
end $$;

do $$ begin
  create type message_role as enum ('system', 'user', 'assistant');
exception when duplicate_object then null;
end $$;
