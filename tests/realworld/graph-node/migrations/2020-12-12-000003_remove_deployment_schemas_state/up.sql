alter table deployment_schemas
 drop column state;

drop type deployment_schema_state;
