export {
  dockerEngineAnswers,
  hostPort,
  infraCommand,
  localInfraEnv,
  portAnswers,
  REPO_ROOT,
} from './infra.ts';
export {
  checkInvariants,
  type InvariantReport,
  type WeChatPaidOrder,
  type WeChatRefund,
} from './invariants.ts';
export {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  type IsolatedDatabase,
  testEnv,
  testKafka,
  uniqueName,
} from './isolation.ts';
export { sandboxClient, sandboxEvidence, TestWeChatSigner } from './wechat-evidence.ts';
