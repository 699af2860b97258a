do $$
begin
  raise 'This migration is irreversible';
end
$$;
