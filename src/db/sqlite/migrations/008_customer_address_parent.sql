-- The fields a Flexprice customer has beyond Tollgate's first shape: a postal address, a parent
-- customer (one level: a parent has no parent of its own, and a customer with children cannot
-- become a child, so there are no cycles; checked by the service, which also keeps parent and
-- child in one tenant and environment), and who created and last changed the customer.
ALTER TABLE customers ADD COLUMN address_line1 TEXT;
ALTER TABLE customers ADD COLUMN address_line2 TEXT;
ALTER TABLE customers ADD COLUMN address_city TEXT;
ALTER TABLE customers ADD COLUMN address_state TEXT;
ALTER TABLE customers ADD COLUMN address_postal_code TEXT;
ALTER TABLE customers ADD COLUMN address_country TEXT;
ALTER TABLE customers ADD COLUMN parent_customer_id TEXT REFERENCES customers(id);
ALTER TABLE customers ADD COLUMN created_by TEXT;
ALTER TABLE customers ADD COLUMN updated_by TEXT;

CREATE INDEX customers_by_parent ON customers (tenant_id, environment_id, parent_customer_id)
  WHERE parent_customer_id IS NOT NULL;

-- Customers made before this migration: who created and last changed each one is in the audit
-- log, written in the same transaction as every change.
UPDATE customers SET
  created_by = (
    SELECT a.actor_id FROM audit_logs a
    WHERE a.tenant_id = customers.tenant_id AND a.resource_id = customers.id AND a.action = 'customer.created'
    ORDER BY a.created_at, a.id LIMIT 1
  ),
  updated_by = (
    SELECT a.actor_id FROM audit_logs a
    WHERE a.tenant_id = customers.tenant_id AND a.resource_id = customers.id
      AND a.action IN ('customer.created', 'customer.updated', 'customer.deleted')
    ORDER BY a.created_at DESC, a.id DESC LIMIT 1
  );
