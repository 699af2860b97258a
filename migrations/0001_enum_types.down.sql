drop type if exists message_role;
drop type if exists task_status;
drop type if exists goal_kind;
