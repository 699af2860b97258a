CREATE INDEX repositories_updated_idx ON repositories USING btree (updated_at);
