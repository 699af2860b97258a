do $$
begin
  if exists (select 1 from pg_attribute
              where attrelid = 'public.vision'::regclass
                and attname = 'owner_user_id' and not attisdropped) then
    alter table vision rename column owner_user_id to user_id;
  end if;

  if exists (select 1 from pg_constraint
              where conrelid = 'public.vision'::regclass
                and conname = 'vision_owner_user_id_fkey') then
    alter table vision rename constraint vision_owner_user_id_fkey to vision_user_id_fkey;
  end if;
end $$;

alter index if exists vision_owner_user_id_idx rename to vision_user_id_idx;
