drop table large_notifications;
