/** One numbered step of a store's schema; each engine has its own list (SPEC §15). */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The database was migrated by a newer Tollgate: this one does not know its newest rules. */
export class SchemaTooNew extends Error {
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `The database's schema is at version ${found}, newer than this Tollgate knows (${known}): a newer Tollgate migrated it. Run that version (or newer); this one will not write to it.`,
    );
    this.name = "SchemaTooNew";
  }
}
