drop trigger if exists task_one_in_progress on task;
drop function if exists task_one_in_progress();
