/**
 * An error the sandbox answers with, in WeChat's shape: HTTP status plus `{code, message, detail?}`.
 * Also thrown by the control functions (pay, close, refund…) so tests see the same codes.
 */
export class SandboxError extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail: unknown;

  constructor(status: number, code: string, message: string, detail?: unknown) {
    super(message);
    this.name = 'SandboxError';
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  toBody(): { code: string; message: string; detail?: unknown } {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail };
  }
}

export const paramError = (message: string, detail?: unknown) =>
  new SandboxError(400, 'PARAM_ERROR', message, detail);
export const invalidRequest = (message: string) => new SandboxError(400, 'INVALID_REQUEST', message);
export const signError = (message: string) => new SandboxError(401, 'SIGN_ERROR', message);
export const noAuth = (message: string) => new SandboxError(403, 'NO_AUTH', message);
export const orderNotExist = () => new SandboxError(404, 'ORDER_NOT_EXIST', '订单不存在');
export const resourceNotExists = (message = '资源不存在') =>
  new SandboxError(404, 'RESOURCE_NOT_EXISTS', message);
export const systemError = (status = 500) => new SandboxError(status, 'SYSTEM_ERROR', '系统错误');
/** The refund API's "merchant balance too low": retry later with the same out_refund_no. */
export const notEnough = () => new SandboxError(403, 'NOT_ENOUGH', '基本账户余额不足，请充值后重新发起');
