import type { Notice } from '../notice.ts';
import type { Locale } from '../routes.ts';
import { renderMarkdown } from '../templates/render.ts';
import { checkErrcode, postJson, safeHost } from './http.ts';
import type { Channel } from './types.ts';

/** WeCom robots take at most 4096 bytes of markdown content. */
export const WECOM_MAX_BYTES = 4096;

export function createWecomChannel(opts: { name: string; url: string; locale: Locale }): Channel {
  return {
    name: opts.name,
    kind: 'wecom',
    target: `wecom ${safeHost(opts.url)}`,
    async send(notices: readonly Notice[], signal: AbortSignal) {
      const { text } = renderMarkdown(notices, {
        locale: opts.locale,
        style: { lineBreak: '\n' },
        maxBytes: WECOM_MAX_BYTES,
      });
      const body = JSON.stringify({ msgtype: 'markdown', markdown: { content: text } });
      checkErrcode(opts.name, 'WECOM', await postJson(opts.name, opts.url, body, { signal }));
    },
    close: async () => {},
  };
}
