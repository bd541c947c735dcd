import type { Notice } from '../notice.ts';
import type { Locale } from '../routes.ts';
import { type Lang, label, severityName, typeName } from './i18n.ts';

/** A message as data, before it becomes markdown, plain text or HTML. */
export type Field =
  | { kind: 'text'; label: string; value: string }
  | { kind: 'link'; label: string; text: string; href: string }
  | { kind: 'list'; label: string; items: string[] }
  | { kind: 'code'; label: string; value: string }
  /** Text from outside paysync (an Alertmanager request): never rendered as a link or markup. */
  | { kind: 'untrusted'; label: string; value: string };

export type Section = { heading: string; fields: Field[] };

export function languages(locale: Locale): Lang[] {
  switch (locale) {
    case 'zh':
      return ['zh'];
    case 'en':
      return ['en'];
    case 'en+zh':
      return ['en', 'zh'];
    default:
      return ['zh', 'en'];
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** zh: Beijing time (UTC+8), as the people on call read it; en: UTC. */
export function formatTime(iso: string, lang: Lang): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  const d = new Date(t + (lang === 'zh' ? 8 * 3_600_000 : 0));
  const s = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return lang === 'zh' ? `${s} (UTC+8)` : `${s} UTC`;
}

export function headline(n: Notice, lang: Lang): string {
  const sev = severityName(n.severity, lang);
  const status = label(n.status, lang);
  return lang === 'zh'
    ? `【${sev}】${status} · ${typeName(n.type, lang)}`
    : `[${sev}] ${status} · ${typeName(n.type, lang)}`;
}

function runbookName(url: string): string {
  const last = url.split('/').pop() ?? url;
  return last.replace(/\.md$/, '') || url;
}

/** Everything a person needs about one notice, in one language. */
export function section(n: Notice, lang: Lang): Section {
  // An Alertmanager request's texts and links are whatever its sender wrote: marked, never links.
  const untrusted = n.source === 'alertmanager';
  const text = (name: string, value: string): Field =>
    untrusted ? { kind: 'untrusted', label: name, value } : { kind: 'text', label: name, value };
  const link = (name: string, linkText: string, href: string): Field =>
    untrusted
      ? { kind: 'untrusted', label: `${name}${label('unverified', lang)}`, value: href }
      : { kind: 'link', label: name, text: linkText, href };
  const fields: Field[] = [{ kind: 'code', label: label('type', lang), value: n.type }];
  if (untrusted)
    fields.push({ kind: 'text', label: label('untrusted', lang), value: label('untrustedNote', lang) });
  if (n.outTradeNo) fields.push({ kind: 'code', label: label('order', lang), value: n.outTradeNo });
  const summary = lang === 'zh' ? (n.summaryZh ?? n.summary) : n.summary;
  fields.push(text(label('summary', lang), summary));
  const description = lang === 'zh' ? (n.descriptionZh ?? n.description) : n.description;
  if (description) fields.push(text(label('description', lang), description));
  const seen = Object.entries(n.details)
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `${k}: ${String(v)}`);
  if (seen.length > 0) {
    fields.push(
      untrusted
        ? { kind: 'untrusted', label: label('seen', lang), value: seen.join('; ') }
        : { kind: 'list', label: label('seen', lang), items: seen },
    );
  }
  fields.push(text(label('source', lang), n.producer));
  fields.push({ kind: 'text', label: label('startsAt', lang), value: formatTime(n.startsAt, lang) });
  if (n.status === 'resolved' && n.endsAt) {
    fields.push({ kind: 'text', label: label('endsAt', lang), value: formatTime(n.endsAt, lang) });
  }
  if (n.runbookUrl) fields.push(link(label('runbook', lang), runbookName(n.runbookUrl), n.runbookUrl));
  if (n.link) fields.push(link(label('graph', lang), 'Prometheus', n.link));
  fields.push({ kind: 'code', label: label('key', lang), value: n.dedupeKey });
  return { heading: headline(n, lang), fields };
}

/** A one-line title: for email subjects and DingTalk's message title. */
export function title(notices: readonly Notice[], locale: Locale): string {
  const langs = languages(locale);
  const first = notices[0];
  if (!first) return 'paysync';
  const worst = notices.some((n) => n.severity === 'critical')
    ? 'critical'
    : notices.some((n) => n.severity === 'warning')
      ? 'warning'
      : 'info';
  if (notices.length === 1) {
    const names = langs.map((l) => typeName(first.type, l));
    const unique = [...new Set(names)].join(' / ');
    const head =
      langs[0] === 'zh'
        ? `【${severityName(first.severity, 'zh')}】${label(first.status, 'zh')}`
        : `[${severityName(first.severity, 'en')}] ${label(first.status, 'en')}`;
    return `${head} ${unique}${first.outTradeNo ? ` ${first.outTradeNo}` : ''}`;
  }
  const count = langs
    .map((l) =>
      l === 'zh'
        ? `${notices.length} ${label('digest', 'zh')}`
        : `${notices.length} ${label('digest', 'en')}`,
    )
    .join(' / ');
  const sev = langs[0] === 'zh' ? `【${severityName(worst, 'zh')}】` : `[${severityName(worst, 'en')}]`;
  const types = [...new Set(notices.map((n) => typeName(n.type, langs[0] ?? 'en')))].slice(0, 3).join(', ');
  return `${sev} ${count}: ${types}`;
}
