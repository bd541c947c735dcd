// The metric names and labels a PromQL expression refers to. A small lexer, not a parser: syntax is
// checked by promtool and Prometheus; this only has to find selectors and label lists reliably in
// the expressions paysync writes.

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
  'atan2',
]);
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export type Selector = { metric: string; labels: string[] };
export type PromqlRefs = { selectors: Selector[]; groupingLabels: string[] };

type Token = { kind: 'ident' | 'brace' | 'bracket' | 'paren' | 'string' | 'other'; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' ? 2 : 1;
      tokens.push({ kind: 'string', text: expr.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      let j = i + 1;
      while (j < expr.length && expr[j] !== close) {
        if (expr[j] === '"') {
          j++;
          while (j < expr.length && expr[j] !== '"') j += expr[j] === '\\' ? 2 : 1;
        }
        j++;
      }
      tokens.push({ kind: c === '{' ? 'brace' : 'bracket', text: expr.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: 'paren', text: c });
      i++;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if (/[0-9.]/.test(c)) {
      const m = /^[0-9.]+(e[+-]?[0-9]+)?[a-z]*/i.exec(expr.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'other', text: m[0] });
      i += m[0].length;
    } else {
      tokens.push({ kind: 'other', text: c });
      i++;
    }
  }
  return tokens;
}

function matcherLabels(inside: string): string[] {
  return [...inside.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1] as string);
}

/** Selectors (metric and matched labels) and the labels of by/without/on/ignoring/group_x lists. */
export function promqlRefs(expr: string): PromqlRefs {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    const next = tokens[i + 1];
    if (t.kind === 'brace') {
      // A selector without a metric name ({__name__=…}) is not used by paysync.
      throw new Error(`selector without a metric name in: ${expr}`);
    }
    if (t.kind !== 'ident') continue;
    if (LABEL_LIST_KEYWORDS.has(t.text) && next?.kind === 'paren' && next.text === '(') {
      let j = i + 2;
      for (; j < tokens.length && !(tokens[j]?.kind === 'paren' && tokens[j]?.text === ')'); j++) {
        const l = tokens[j] as Token;
        if (l.kind === 'ident') groupingLabels.push(l.text);
      }
      i = j;
      continue;
    }
    if (KEYWORDS.has(t.text.toLowerCase()) || AGGREGATIONS.has(t.text)) continue;
    if (next?.kind === 'paren' && next.text === '(') continue; // a function or aggregation
    if (next?.kind === 'brace') {
      selectors.push({ metric: t.text, labels: matcherLabels(next.text) });
      i++;
    } else {
      selectors.push({ metric: t.text, labels: [] });
    }
  }
  return { selectors, groupingLabels };
}
