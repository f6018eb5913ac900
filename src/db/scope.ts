/** Where a tenant's data lives: one of its environments. Customers and events are kept per scope. */
export interface Scope {
  tenantId: string;
  environmentId: string;
}
