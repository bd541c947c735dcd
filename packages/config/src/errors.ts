export type ConfigIssue = { variable: string; message: string };

/** Thrown when the environment does not satisfy a service's configuration schema. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];

  constructor(service: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) => `  - ${i.variable}: ${i.message}`);
    super(`${service}: invalid configuration\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
