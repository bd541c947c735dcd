import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * A secret in the routes file: a literal (local set-ups only), `{ env: NAME }` or `{ file: PATH }`
 * (a mounted Kubernetes Secret). Values are resolved once at start and never logged; an error
 * names the variable or file, never the value.
 */
export const secretRef = z.union([
  z.string().min(1),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type SecretRef = z.infer<typeof secretRef>;

export type SecretSource = {
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
  /** Production mode: only `{ file: PATH }` is accepted (a literal or a variable is refused). */
  production?: boolean;
};

export const processSecrets: SecretSource = {
  env: process.env,
  readFile: (path) => readFileSync(path, 'utf8'),
};

/** Resolves a reference; throws an Error whose message says which variable or file failed. */
export function resolveSecret(ref: SecretRef, source: SecretSource): string {
  if (source.production && !(typeof ref === 'object' && 'file' in ref)) {
    throw new Error(
      `${typeof ref === 'string' ? 'a literal secret' : `a secret from the environment variable ${ref.env}`} is refused in production mode: use { file: PATH }`,
    );
  }
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const value = source.env[ref.env];
    if (value === undefined || value === '') throw new Error(`environment variable ${ref.env} is not set`);
    return value;
  }
  let text: string;
  try {
    text = source.readFile(ref.file);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'unreadable';
    throw new Error(`secret file ${ref.file} cannot be read (${code})`);
  }
  // Mounted secrets often end with a newline that is not part of the value.
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new Error(`secret file ${ref.file} is empty`);
  return value;
}
