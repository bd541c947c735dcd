import { migrateUp, migrationStatus } from '@paysync/db';
import { json, table } from '../format.ts';
import type { Io } from '../io.ts';
import type { Resources } from '../resources.ts';

/** payctl migrate [--status]: apply pending migrations (under the migration lock), or list them. */
export async function migrateCommand(
  res: Resources,
  io: Io,
  flags: { status?: boolean; json?: boolean },
): Promise<number> {
  const pool = res.pool();
  const applied: { version: number; name: string; ms: number }[] = [];
  const states = flags.status
    ? await migrationStatus(pool)
    : await migrateUp(pool, { onProgress: (e) => applied.push(e) });
  if (flags.json) json(io, { applied, migrations: states });
  else {
    if (!flags.status) {
      io.out(
        applied.length === 0
          ? 'schema up to date\n'
          : applied.map((a) => `applied ${a.version}_${a.name} (${a.ms} ms)\n`).join(''),
      );
    }
    io.out(
      table(
        ['version', 'name', 'state'],
        states.map((s) => [String(s.version).padStart(4, '0'), s.name, s.state]),
      ),
    );
  }
  return states.some((s) => s.state === 'modified') ? 1 : 0;
}
