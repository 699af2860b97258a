drop view if exists cycle_progress;
