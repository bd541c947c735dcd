import type { IncomingHttpHeaders } from 'node:http';
import type { Merchant } from '../merchants.ts';

export interface RouteContext {
  method: string;
  pathWithQuery: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The merchant whose signature verified (API routes only). */
  merchant: Merchant;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  /** Answer without `Wechatpay-*` signature headers (an answer lost on the way, a gateway error). */
  unsigned?: boolean;
  /** Reset the connection instead of answering (the handler's work is done all the same). */
  reset?: boolean;
}

export type Handler = (ctx: RouteContext) => RouteResult | Promise<RouteResult>;

export interface Route {
  method: string;
  /** `/v3/pay/transactions/out-trade-no/:out_trade_no`: also the counters' label. */
  template: string;
  /** WeChat API (signed both ways) or the sandbox's own control API. */
  kind: 'api' | 'control';
  /** An order query: subject to the QPS limit and the query faults. */
  query?: boolean;
  handler: Handler;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

/** Method + path-template routing; nothing more is needed for a dozen routes. */
export class Router {
  readonly #routes: CompiledRoute[] = [];

  add(route: Route): this {
    const names: string[] = [];
    const source = route.template
      .split('/')
      .map((segment) => {
        if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(segment.slice(1));
        return '([^/]+)';
      })
      .join('/');
    this.#routes.push({ ...route, pattern: new RegExp(`^${source}$`), names });
    return this;
  }

  match(method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(pathname);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(found[index + 1] as string);
      });
      return { route, params };
    }
    return undefined;
  }
}
