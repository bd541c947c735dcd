export { ConfigError, type ConfigIssue } from './errors.ts';
export {
  boolFromEnv,
  brokerListFromEnv,
  durationMsFromEnv,
  intFromEnv,
  listFromEnv,
  logLevelFromEnv,
  mysqlUrlFromEnv,
  nodeEnvFromEnv,
  portFromEnv,
} from './fields.ts';
export { describeEnv, type EnvSchema, type EnvVarDoc, loadConfig } from './load.ts';
export {
  inlineSecret,
  isProductionMode,
  modeEnvShape,
  mysqlEnvShape,
  readSecretFile,
  resolveMysqlUrl,
  resolveSecret,
  type SecretContext,
  secretContext,
  secretEnvShape,
} from './secrets.ts';
