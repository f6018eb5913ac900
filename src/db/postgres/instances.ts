// Which Tollgate processes are connected to a PostgreSQL database: each names its connections
// (application_name) after its process, so a command that must not run beside a server can ask.
import type { Queries } from "../store";

/** The application_name of a process's pool connections. */
export function poolApplicationName(pid = process.pid): string {
  return `tollgate-${pid}`;
}

/** The application_name of a process's listening connection (PostgresStore.listen). */
export function listenerApplicationName(pid = process.pid): string {
  return `tollgate-listen-${pid}`;
}

/**
 * In a transaction: locks `table` against every other reader and writer until it ends, then
 * answers the application_name of every other Tollgate process connected to this database.
 * A server that read the table before the lock is connected, so it is listed; one that reads
 * it afterwards waits for the commit and reads what the transaction wrote.
 */
export async function lockAndListOtherTollgates(tx: Queries, table: string): Promise<string[]> {
  await tx.run(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  const rows = await tx.all<{ application_name: string }>(
    `SELECT DISTINCT application_name FROM pg_stat_activity
     WHERE datname = current_database() AND application_name LIKE 'tollgate-%' AND application_name NOT IN (?, ?)
     ORDER BY application_name`,
    poolApplicationName(),
    listenerApplicationName(),
  );
  return rows.map((row) => row.application_name);
}
