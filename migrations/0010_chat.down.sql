drop table if exists chat_message;
drop table if exists chat_session;
