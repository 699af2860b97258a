delete from deployment_schemas
 where id = 0;
