-- Every filter of a list has an index under the scope it is read in, in the list's order, so
-- a filtered page and its count read only the matching entries (issue 23: an audit log of
-- 400,000 rows filtered by action read every row). The environment comes right after the
-- tenant because every list is of one environment; the indexes on resource and actor that
-- 002 made without it are replaced.
CREATE INDEX audit_logs_by_action ON audit_logs (tenant_id, environment_id, action, created_at, id);
CREATE INDEX audit_logs_by_resource_type ON audit_logs (tenant_id, environment_id, resource_type, created_at, id);
DROP INDEX audit_logs_by_resource;
CREATE INDEX audit_logs_by_resource ON audit_logs (tenant_id, environment_id, resource_id, created_at, id);
DROP INDEX audit_logs_by_actor;
CREATE INDEX audit_logs_by_actor ON audit_logs (tenant_id, environment_id, actor_id, created_at, id);
CREATE INDEX webhook_events_by_type ON webhook_events (tenant_id, environment_id, event_type, received_at, id);
