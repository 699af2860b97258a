CREATE INDEX releases_rustdoc_status_idx ON releases USING btree (rustdoc_status ASC);
