DROP INDEX IF EXISTS public.l1_batches_number_idx;
