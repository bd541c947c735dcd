// Talking to a running stack from outside, as its users do: the merchant back end calling the
// gateway's order API, and "WeChat Pay" being told what the user did through the sandbox's
// control API.
import { randomUUID } from 'node:crypto';

export type CreateOrder = {
  merchant_order_no: string;
  user_id: string;
  amount_fen: number;
  points: number;
  bonus_points?: number;
  trade_type: 'NATIVE';
  description: string;
  expires_in_seconds?: number;
};

export type OrderAnswer = { out_trade_no: string; status: string; [k: string]: unknown };

export class HttpError extends Error {
  readonly code = 'HTTP_ERROR';
  readonly status: number;
  constructor(what: string, status: number, body: string) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
    this.name = 'HttpError';
    this.status = status;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(what: string, url: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new HttpError(what, res.status, text);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

export class GatewayClient {
  readonly #base: string;
  readonly #token: string;

  constructor(base: string, token: string) {
    this.#base = base;
    this.#token = token;
  }

  #headers() {
    return { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' };
  }

  /** Refunds (part of) an order through the order API (idempotent on merchant_refund_no). */
  async refund(
    outTradeNo: string,
    body: { merchant_refund_no: string; amount_fen: number; reason?: string },
  ) {
    return (await call('refund', `${this.#base}/api/payment/orders/${outTradeNo}/refunds`, {
      method: 'POST',
      headers: this.#headers(),
      body: JSON.stringify(body),
    })) as { out_refund_no: string; status: string; hold_points: number };
  }

  /**
   * Creates an order; on a network error or a 5xx it sends the same request again (the order API is
   * idempotent on `merchant_order_no`), as a merchant back end does, until `retryForMs` has passed.
   */
  async createOrder(body: CreateOrder, retryForMs = 0): Promise<OrderAnswer> {
    const deadline = Date.now() + retryForMs;
    for (;;) {
      try {
        return (await call('create order', `${this.#base}/api/payment/orders`, {
          method: 'POST',
          headers: this.#headers(),
          body: JSON.stringify(body),
        })) as OrderAnswer;
      } catch (err) {
        const retryable = !(err instanceof HttpError) || err.status >= 500;
        if (!retryable || Date.now() > deadline) throw err;
        await sleep(500);
      }
    }
  }
}

export type SandboxOrder = {
  out_trade_no: string;
  trade_state: string;
  transaction_id?: string;
  mchid: string;
  appid: string;
  amount: { total: number };
};

export type SandboxNotification = {
  id: string;
  outTradeNo: string;
  state: string;
  attempts: { duplicate: boolean; outcome: string; at: string; status?: number }[];
};

export class SandboxControl {
  readonly #base: string;

  constructor(base: string) {
    this.#base = base;
  }

  pay(outTradeNo: string): Promise<unknown> {
    return call('pay', `${this.#base}/sandbox/orders/${outTradeNo}/pay`, { method: 'POST', body: '{}' });
  }

  faults(): Promise<Record<string, unknown>> {
    return call('faults', `${this.#base}/sandbox/faults`) as Promise<Record<string, unknown>>;
  }

  setFaults(patch: Record<string, unknown>): Promise<unknown> {
    return call('set faults', `${this.#base}/sandbox/faults`, {
      method: 'PATCH',
      body: JSON.stringify(patch),
    });
  }

  async orders(): Promise<SandboxOrder[]> {
    return ((await call('orders', `${this.#base}/sandbox/orders`)) as { orders: SandboxOrder[] }).orders;
  }

  /** Every refund the sandbox knows (query shape, plus its source). */
  async refunds(): Promise<
    { out_refund_no: string; out_trade_no: string; status: string; amount: { refund: number } }[]
  > {
    const body = (await call('refunds', `${this.#base}/sandbox/refunds`)) as
      | {
          refunds: {
            out_refund_no: string;
            out_trade_no: string;
            status: string;
            amount: { refund: number };
          }[];
        }
      | { out_refund_no: string; out_trade_no: string; status: string; amount: { refund: number } }[];
    return Array.isArray(body) ? body : body.refunds;
  }

  async notifications(): Promise<SandboxNotification[]> {
    const body = (await call('notifications', `${this.#base}/sandbox/notifications`)) as
      | { notifications: SandboxNotification[] }
      | SandboxNotification[];
    return Array.isArray(body) ? body : body.notifications;
  }
}

/** A recharge order as a shop would create it (10 points per yuan, 10 % bonus from 50 yuan). */
export function rechargeOrder(userId: string, amountFen: number, expiresInSeconds?: number): CreateOrder {
  return {
    merchant_order_no: `M${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    user_id: userId,
    amount_fen: amountFen,
    points: Math.floor(amountFen / 10),
    bonus_points: amountFen >= 5000 ? Math.floor(amountFen / 100) : 0,
    trade_type: 'NATIVE',
    description: `${Math.floor(amountFen / 10)} points`,
    ...(expiresInSeconds ? { expires_in_seconds: expiresInSeconds } : {}),
  };
}
