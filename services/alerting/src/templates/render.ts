import type { Notice } from '../notice.ts';
import type { Locale } from '../routes.ts';
import { htmlSection, type MarkdownStyle, markdownSection, textSection } from './format.ts';
import { label } from './i18n.ts';
import { languages, section, title } from './model.ts';

export type RenderOptions = { locale: Locale };

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Cuts a string to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (utf8Length(s) <= maxBytes) return s;
  const buf = Buffer.from(s, 'utf8').subarray(0, maxBytes);
  // Drop a partial multi-byte sequence at the end.
  let end = buf.length;
  while (end > 0 && ((buf[end - 1] as number) & 0xc0) === 0x80) end--;
  if (end > 0 && (buf[end - 1] as number) >= 0xc0) end--;
  return buf.subarray(0, end).toString('utf8');
}

/**
 * Markdown for robots (DingTalk, WeCom). Each notice gets a section per language; when the message
 * would pass `maxBytes`, the notices that do not fit are counted instead of shown.
 */
export function renderMarkdown(
  notices: readonly Notice[],
  opts: RenderOptions & { style: MarkdownStyle; maxBytes: number },
): { title: string; text: string } {
  const langs = languages(opts.locale);
  const nl = opts.style.lineBreak;
  const separator = `${nl}---${nl}`;
  const blocks: string[] = [];
  let shown = 0;
  for (const n of notices) {
    const block = langs.map((l) => markdownSection(section(n, l), opts.style)).join(separator);
    const candidate = [...blocks, block].join(`${nl}${nl}`);
    // Keep room for the "N more" line.
    if (blocks.length > 0 && utf8Length(candidate) > opts.maxBytes - 200) break;
    blocks.push(block);
    shown++;
  }
  let text = blocks.join(`${nl}${nl}`);
  if (shown < notices.length) {
    const rest = notices.length - shown;
    text += `${nl}${nl}> ${langs.map((l) => label('more', l).replace('{n}', String(rest))).join(' / ')}`;
  }
  if (utf8Length(text) > opts.maxBytes) {
    const tail = ` ${langs.map((l) => label('truncated', l)).join(' ')}`;
    text = truncateUtf8(text, opts.maxBytes - utf8Length(tail)) + tail;
  }
  return { title: title(notices, opts.locale), text };
}

/** Subject, plain text and HTML for email: every notice in full, in each language. */
export function renderEmail(
  notices: readonly Notice[],
  opts: RenderOptions & { subjectPrefix: string },
): { subject: string; text: string; html: string } {
  const langs = languages(opts.locale);
  const sections = notices.flatMap((n) => langs.map((l) => section(n, l)));
  const subject = `${opts.subjectPrefix ? `${opts.subjectPrefix} ` : ''}${title(notices, opts.locale)}`;
  const text = sections.map(textSection).join('\n\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">${sections.map(htmlSection).join('<hr>')}</body></html>`;
  return { subject: subject.replace(/[\r\n]+/g, ' ').slice(0, 250), text, html };
}
