alter table subgraphs.prune_state
  drop column errored_at,
  drop column error;
