ALTER TABLE task_index
ALTER COLUMN task_type TYPE TEXT;

ALTER TABLE task_index
ALTER COLUMN task_def_name TYPE TEXT;
