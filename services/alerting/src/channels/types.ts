import type { Notice } from '../notice.ts';

export type ChannelKind = 'email' | 'dingtalk' | 'wecom' | 'webhook';

/** One configured way to reach people. `send` resolves once the far end accepted the message. */
export type Channel = {
  readonly name: string;
  readonly kind: ChannelKind;
  /** Where it sends, safe to log: host (and recipients' count), never tokens or keys. */
  readonly target: string;
  send(notices: readonly Notice[], signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
};
