import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ConfigIssue } from './errors.ts';
import { mysqlUrlFromEnv, nodeEnvFromEnv } from './fields.ts';

// Secrets come from files (Kubernetes Secret volumes), never from plain environment variables: a
// variable is visible in `kubectl describe`, `/proc/<pid>/environ` and crash dumps. Every secret
// NAME has a NAME_FILE variant; the plain NAME is a development convenience (a warning) that
// production mode refuses at start-up, naming the variable and never its value.

/** NODE_ENV and PAYSYNC_MODE: either saying `production` turns on production mode. */
export const modeEnvShape = {
  NODE_ENV: nodeEnvFromEnv.optional().describe('production (same as PAYSYNC_MODE=production).'),
  PAYSYNC_MODE: z
    .enum(['production', 'development'])
    .optional()
    .describe(
      'production refuses development-only settings (secrets in plain variables, sandbox origins); default development.',
    ),
};

/** True when NODE_ENV or PAYSYNC_MODE says production. */
export function isProductionMode(env: {
  NODE_ENV?: string | undefined;
  PAYSYNC_MODE?: string | undefined;
}): boolean {
  return env.NODE_ENV === 'production' || env.PAYSYNC_MODE === 'production';
}

/**
 * Reads a secret file (one trailing newline dropped). A failure becomes an issue naming the
 * variable and the path — the path is not secret; the content never appears in a message.
 */
export function readSecretFile(variable: string, path: string, issues: ConfigIssue[]): string | undefined {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    issues.push({
      variable,
      message: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    });
    return undefined;
  }
}

type SecretShape<N extends string> = { [K in N | `${N}_FILE`]: z.ZodOptional<z.ZodString> };

/** The two variables of one secret: NAME_FILE (a file holding it) and NAME (development only). */
export function secretEnvShape<N extends string>(name: N, what: string): SecretShape<N> {
  return {
    [`${name}_FILE`]: z.string().min(1).optional().describe(`File holding ${what}.`),
    [name]: z
      .string()
      .optional()
      .describe(
        `${what[0]?.toUpperCase()}${what.slice(1)}, inline: development only (refused in production mode; use ${name}_FILE).`,
      ),
  } as SecretShape<N>;
}

/** Where secret problems (refused in production, or files that cannot be read) and warnings go. */
export type SecretContext = { production: boolean; issues: ConfigIssue[]; warnings: ConfigIssue[] };

/** Creates the context of one loader: production mode read from the parsed NODE_ENV/PAYSYNC_MODE. */
export function secretContext(env: {
  NODE_ENV?: string | undefined;
  PAYSYNC_MODE?: string | undefined;
}): SecretContext {
  return { production: isProductionMode(env), issues: [], warnings: [] };
}

/** A secret given inline (a variable or a literal in a file of settings): refused in production, a warning otherwise. */
export function inlineSecret(ctx: SecretContext, variable: string, fix: string): void {
  const issue = {
    variable,
    message: `holds a secret inline${ctx.production ? ', refused in production mode' : ''}; ${fix}`,
  };
  (ctx.production ? ctx.issues : ctx.warnings).push(issue);
}

/**
 * The secret NAME, from NAME_FILE or (development) NAME; undefined when neither is set. Both set
 * is an issue, as is an empty file.
 */
export function resolveSecret(
  name: string,
  env: Record<string, unknown>,
  ctx: SecretContext,
): string | undefined {
  const file = env[`${name}_FILE`] as string | undefined;
  const inline = env[name] as string | undefined;
  if (file !== undefined && inline !== undefined) {
    ctx.issues.push({ variable: name, message: `set either ${name} or ${name}_FILE, not both` });
    return undefined;
  }
  if (file !== undefined) {
    const value = readSecretFile(`${name}_FILE`, file, ctx.issues);
    if (value === '') ctx.issues.push({ variable: `${name}_FILE`, message: `${file} is empty` });
    return value || undefined;
  }
  if (inline !== undefined) inlineSecret(ctx, name, `put it in a file and set ${name}_FILE`);
  return inline;
}

/** MYSQL_URL and MYSQL_PASSWORD_FILE. */
export const mysqlEnvShape = (description: string) => ({
  MYSQL_URL: mysqlUrlFromEnv.describe(
    `${description} In production without a password: the password comes from MYSQL_PASSWORD_FILE.`,
  ),
  MYSQL_PASSWORD_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('File holding the database password (MYSQL_URL then carries none).'),
});

/**
 * MYSQL_URL with the password of MYSQL_PASSWORD_FILE put in; a password inside MYSQL_URL is a
 * development convenience (refused in production mode).
 */
export function resolveMysqlUrl(
  env: { MYSQL_URL: string; MYSQL_PASSWORD_FILE?: string | undefined },
  ctx: SecretContext,
): string {
  const url = new URL(env.MYSQL_URL);
  if (env.MYSQL_PASSWORD_FILE !== undefined) {
    if (url.password !== '') {
      ctx.issues.push({
        variable: 'MYSQL_URL',
        message: 'holds a password and MYSQL_PASSWORD_FILE is set: give it in one place only',
      });
      return env.MYSQL_URL;
    }
    const password = readSecretFile('MYSQL_PASSWORD_FILE', env.MYSQL_PASSWORD_FILE, ctx.issues);
    if (password === '') {
      ctx.issues.push({ variable: 'MYSQL_PASSWORD_FILE', message: `${env.MYSQL_PASSWORD_FILE} is empty` });
    }
    if (password) url.password = encodeURIComponent(password);
    return url.toString();
  }
  if (url.password !== '') {
    inlineSecret(ctx, 'MYSQL_URL', 'give a URL without password and the password in MYSQL_PASSWORD_FILE');
  }
  return env.MYSQL_URL;
}
