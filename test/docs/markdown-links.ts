// Every relative link in the repository's Markdown resolves: the file (or folder) exists, and an
// `#anchor` into a Markdown file names one of its headings as GitHub slugs them. External links
// are allowed only to the documented references below, and are never fetched.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The external sites a document may link to, and why: the references paysync is written against.
 * Anything else external is a link that can rot or leave the repository; say it here first.
 */
export const EXTERNAL_REFERENCES: readonly { prefix: string; why: string }[] = [
  { prefix: 'https://pay.weixin.qq.com/', why: "WeChat Pay's official documentation (docs/WECHATPAY.md)" },
  { prefix: 'https://github.com/wechatpay-apiv3/', why: "WeChat Pay's official SDKs (docs/WECHATPAY.md)" },
];

export type Link = { file: string; line: number; target: string };
export type BrokenLink = Link & { problem: string };

/** The Markdown files git would commit under `root` (tracked, or new and not ignored). */
export async function markdownFiles(root: string): Promise<string[]> {
  const { stdout } = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '*.md'],
    {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout
    .split('\0')
    .filter((f) => f.length > 0 && !/(^|\/)(node_modules|\.cache)\//.test(f))
    .sort();
}

/** The lines of a Markdown text outside fenced code blocks, inline code spans blanked (and as written). */
function proseLines(text: string): { line: number; text: string; raw: string }[] {
  const out: { line: number; text: string; raw: string }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const opening = /^\s{0,3}(`{3,}|~{3,})/.exec(raw);
    if (fence !== undefined) {
      if (opening && opening[1]!.startsWith(fence)) fence = undefined;
      return;
    }
    if (opening) {
      fence = opening[1]!;
      return;
    }
    out.push({ line: i + 1, raw, text: raw.replace(/(`+)[^`]*?\1/g, (m) => ' '.repeat(m.length)) });
  });
  return out;
}

/**
 * Inline links and images, reference definitions and autolinks; and a path written in code that
 * climbs out of its folder (`../…`), which is read as a link too.
 */
export function linksIn(file: string, text: string): Link[] {
  const links: Link[] = [];
  for (const { line, text: l, raw } of proseLines(text)) {
    const found: { at: number; target: string }[] = [];
    for (const m of raw.matchAll(/`(\.\.\/[^`\s]+)`/g)) found.push({ at: m.index, target: m[1]! });
    for (const m of l.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      found.push({ at: m.index, target: m[1]!.replace(/^<|>$/g, '') });
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(l);
    if (definition) found.push({ at: 0, target: definition[1]!.replace(/^<|>$/g, '') });
    for (const m of l.matchAll(/<(https?:\/\/[^>\s]+)>/g)) found.push({ at: m.index, target: m[1]! });
    for (const f of found.sort((a, b) => a.at - b.at)) links.push({ file, line, target: f.target });
  }
  return links;
}

/** A heading's anchor as GitHub makes it (github-slugger): lower case, punctuation dropped, spaces → hyphens. */
export function githubSlug(heading: string): string {
  // Outside code spans: links and images give their text, HTML tags nothing (not <placeholders>).
  const text = heading
    .split(/(`[^`]*`)/)
    .map((part) =>
      part.startsWith('`')
        ? part.slice(1, -1)
        : part
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/<\/?[a-z][^>]*>/gi, (tag) =>
              /^<\/?(a|b|i|em|strong|code|img|br|span|sup|sub|kbd)\b/i.test(tag) ? '' : tag,
            ),
    )
    .join('');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown text: its headings' slugs (repeats numbered -1, -2, …) and HTML ids. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { raw } of proseLines(text)) {
    for (const m of raw.matchAll(/<a\s+(?:[^>]*\s)?(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(raw);
    if (!heading) continue;
    const slug = githubSlug(heading[1]!);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

async function kind(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/**
 * Checks every link of the Markdown files git would commit under `root`: a relative target exists
 * (a leading `/` is the repository's root, as on GitHub), an anchor into a Markdown file names one
 * of its headings, an external link starts with one of `external`. Nothing is fetched.
 */
export async function brokenLinks(
  root: string,
  external: readonly { prefix: string }[] = EXTERNAL_REFERENCES,
): Promise<BrokenLink[]> {
  const files = await markdownFiles(root);
  const texts = new Map<string, string>();
  const read = async (file: string) => {
    if (!texts.has(file)) texts.set(file, await readFile(join(root, file), 'utf8'));
    return texts.get(file)!;
  };
  const broken: BrokenLink[] = [];
  for (const file of files) {
    for (const link of linksIn(file, await read(file))) {
      const { target } = link;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        if (/^https?:/i.test(target) && !external.some((e) => target.startsWith(e.prefix))) {
          broken.push({ ...link, problem: 'external link that is not a documented reference' });
        } else if (!/^(https?|mailto):/i.test(target)) {
          broken.push({ ...link, problem: 'unsupported link scheme' });
        }
        continue;
      }
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash >= 0 ? target.slice(0, hash) : target).replace(/\?.*$/, '');
      const anchor = hash >= 0 ? decodeURIComponent(target.slice(hash + 1)) : undefined;
      const resolved =
        pathPart === ''
          ? join(root, file)
          : pathPart.startsWith('/')
            ? join(root, pathPart)
            : resolve(root, dirname(file), pathPart);
      const rel = relative(root, resolved);
      if (rel.startsWith('..')) {
        broken.push({ ...link, problem: 'points outside the repository' });
        continue;
      }
      const found = await kind(resolved);
      if (found === undefined) {
        broken.push({ ...link, problem: `${rel} does not exist` });
        continue;
      }
      if (anchor === undefined || anchor === '' || found === 'dir' || !rel.endsWith('.md')) continue;
      if (!anchorsOf(await readFile(resolved, 'utf8')).has(anchor)) {
        broken.push({ ...link, problem: `${rel} has no heading #${anchor}` });
      }
    }
  }
  return broken;
}
