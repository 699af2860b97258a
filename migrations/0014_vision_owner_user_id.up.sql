-- Rename-and-backfill, step 2: vision.user_id becomes vision.owner_user_id.
--
-- Renamed in place (ALTER TABLE ... RENAME COLUMN), not add + backfill +
-- drop: the column keeps its position, its data, its NOT NULL and its
-- foreign key, and the RLS policy vision_owner follows the new name by
-- itself. (add + backfill + drop would move the column to the end of the
-- table, and no down migration could put it back where it was: the
-- roundtrip property would rightly fail.) The index and the foreign key
-- are renamed too so that the schema reads as if written this way.
-- Every step is guarded: re-running is a no-op.

do $$
begin
  if exists (select 1 from pg_attribute
              where attrelid = 'public.vision'::regclass
                and attname = 'user_id' and not attisdropped) then
    alter table vision rename column user_id to owner_user_id;
  end if;

  if exists (select 1 from pg_constraint
              where conrelid = 'public.vision'::regclass
                and conname = 'vision_user_id_fkey') then
    alter table vision rename constraint vision_user_id_fkey to vision_owner_user_id_fkey;
  end if;
end $$;

alter index if exists vision_user_id_idx rename to vision_owner_user_id_idx;
