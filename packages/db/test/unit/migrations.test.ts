import { describe, expect, it } from '@jest/globals';
import { loadMigrations, splitStatements } from '../../src/index.ts';

describe('splitStatements', () => {
  it('splits on a semicolon at the end of a line and drops comment lines', () => {
    const sql = `-- header\nCREATE TABLE a (\n  x INT -- inline; kept\n);\n\n-- next\nINSERT INTO a VALUES (1);\n`;
    expect(splitStatements(sql)).toEqual([
      'CREATE TABLE a (\n  x INT -- inline; kept\n)',
      'INSERT INTO a VALUES (1)',
    ]);
  });
});

describe('shipped migrations', () => {
  it('are numbered without gaps and each holds statements', async () => {
    const migrations = await loadMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    migrations.forEach((m, i) => {
      expect(m.version).toBe(i + 1);
      expect(m.statements.length).toBeGreaterThan(0);
      expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
    });
  });
});
