DROP TABLE IF EXISTS processed_events;

DROP TYPE IF EXISTS event_type;

