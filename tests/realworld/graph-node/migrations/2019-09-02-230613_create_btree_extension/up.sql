-- This requires superuser privileges
create extension if not exists btree_gist;
