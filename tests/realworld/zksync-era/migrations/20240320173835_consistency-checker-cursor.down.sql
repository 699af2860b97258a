DROP TABLE consistency_checker_info;
