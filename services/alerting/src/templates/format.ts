import type { Field, Section } from './model.ts';

export type MarkdownStyle = {
  /** DingTalk renders a single newline as a space: it needs blank lines between lines. */
  lineBreak: string;
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A URL that no chat or mail client turns into a link: `https://x` → `https[:]//x`. */
export function defang(s: string): string {
  return s.replace(/([a-z][a-z0-9+.-]*):\/\//gi, '$1[:]//').replace(/\bwww\./gi, 'www[.]');
}

/** Untrusted text for markdown: defanged, markup characters escaped, on one line. */
function mdUntrusted(s: string): string {
  return defang(s.replace(/[\\`*_[\]()<>!]/g, (c) => `\\${c}`).replace(/\s*\n\s*/g, ' '));
}

function mdField(f: Field, nl: string): string {
  switch (f.kind) {
    case 'text':
      return `**${f.label}**: ${f.value}`;
    case 'code':
      return `**${f.label}**: \`${f.value}\``;
    case 'link':
      return `**${f.label}**: [${f.text}](${f.href})`;
    case 'untrusted':
      return `**${f.label}**: ${mdUntrusted(f.value)}`;
    case 'list':
      return [`**${f.label}**:`, ...f.items.map((i) => `- ${i}`)].join(nl);
  }
}

export function markdownSection(s: Section, style: MarkdownStyle, level = 3): string {
  const nl = style.lineBreak;
  return [`${'#'.repeat(level)} ${s.heading}`, ...s.fields.map((f) => mdField(f, nl))].join(nl);
}

function textField(f: Field): string {
  switch (f.kind) {
    case 'text':
    case 'code':
      return `${f.label}: ${f.value}`;
    case 'link':
      return `${f.label}: ${f.href}`;
    case 'untrusted':
      return `${f.label}: ${defang(f.value)}`;
    case 'list':
      return [`${f.label}:`, ...f.items.map((i) => `  - ${i}`)].join('\n');
  }
}

export function textSection(s: Section): string {
  return [s.heading, '='.repeat(Math.min(60, s.heading.length * 2)), ...s.fields.map(textField)].join('\n');
}

function htmlField(f: Field): string {
  const th = `<th align="left" valign="top" style="padding:2px 12px 2px 0">${escapeHtml(f.label)}</th>`;
  switch (f.kind) {
    case 'text':
      return `<tr>${th}<td>${escapeHtml(f.value).replace(/\n/g, '<br>')}</td></tr>`;
    case 'code':
      return `<tr>${th}<td><code>${escapeHtml(f.value)}</code></td></tr>`;
    case 'link':
      return `<tr>${th}<td><a href="${escapeHtml(f.href)}">${escapeHtml(f.text)}</a></td></tr>`;
    case 'untrusted':
      return `<tr>${th}<td>${escapeHtml(defang(f.value)).replace(/\n/g, '<br>')}</td></tr>`;
    case 'list':
      return `<tr>${th}<td><ul style="margin:0;padding-left:16px">${f.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul></td></tr>`;
  }
}

export function htmlSection(s: Section): string {
  return `<h3>${escapeHtml(s.heading)}</h3><table>${s.fields.map(htmlField).join('')}</table>`;
}
