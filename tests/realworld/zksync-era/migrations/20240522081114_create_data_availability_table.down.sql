DROP TABLE IF EXISTS data_availability;
