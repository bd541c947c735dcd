import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.ts';

export type EnvSchema = z.ZodObject<z.ZodRawShape>;

/**
 * Validates `env` against a schema whose keys are environment-variable names and returns the
 * parsed, typed result. Every problem is reported at once, by variable name; values are never
 * echoed, so a mistyped secret cannot leak into a log through a configuration error.
 */
export function loadConfig<S extends EnvSchema>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
  opts: { requiredSecrets?: readonly string[] } = {},
): z.output<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty variable is treated as unset, so defaults apply as operators expect.
    if (value !== undefined && value !== '') input[key] = value;
  }
  // A required secret (secretEnvShape) is given by NAME_FILE, or NAME in development.
  const missing: ConfigIssue[] = (opts.requiredSecrets ?? [])
    .filter((name) => input[name] === undefined && input[`${name}_FILE`] === undefined)
    .map((name) => ({ variable: name, message: `is required (${name}_FILE)` }));
  const result = schema.safeParse(input);
  if (result.success && missing.length === 0) return result.data as z.output<S>;
  const issues: ConfigIssue[] = (result.error?.issues ?? []).map((issue) => {
    const variable = String(issue.path[0] ?? '(root)');
    const message =
      issue.code === 'invalid_type' && env[variable] === undefined ? 'is required' : issue.message;
    return { variable, message };
  });
  throw new ConfigError(service, [...issues, ...missing]);
}

export type EnvVarDoc = { variable: string; required: boolean; default?: string; description: string };

/**
 * Lists the variables a schema reads, for generated configuration references. Descriptions come
 * from `.describe()` on each field.
 */
export function describeEnv(schema: EnvSchema): EnvVarDoc[] {
  return Object.entries(schema.shape).map(([variable, field]) => {
    const f = field as z.ZodType;
    const optional = f.safeParse(undefined).success;
    const parsedDefault = optional ? f.safeParse(undefined).data : undefined;
    const doc: EnvVarDoc = { variable, required: !optional, description: f.description ?? '' };
    if (parsedDefault !== undefined) doc.default = JSON.stringify(parsedDefault);
    return doc;
  });
}
