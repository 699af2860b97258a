alter table deployment_schemas
  drop column network;
