import type { NextFunction, Request, Response } from 'express';

export type InFlightLimit = {
  /** Express middleware: answers with `reject` at once when `max` requests are already in flight. */
  middleware: (req: Request, res: Response, next: NextFunction) => void;
  readonly count: number;
};

/**
 * Bounds the requests handled at once. Over the bound the answer is immediate (503), so a slow
 * dependency makes the gateway shed load instead of queueing until WeChat's 5 s are gone.
 */
export function inFlightLimit(opts: {
  max: number;
  onChange?: (count: number) => void;
  reject: (res: Response, reason: 'busy' | 'shutting_down') => void;
  shuttingDown: () => boolean;
}): InFlightLimit {
  let count = 0;
  return {
    get count() {
      return count;
    },
    middleware(_req, res, next) {
      if (opts.shuttingDown()) {
        res.setHeader('Connection', 'close');
        return opts.reject(res, 'shutting_down');
      }
      if (count >= opts.max) return opts.reject(res, 'busy');
      count += 1;
      opts.onChange?.(count);
      res.once('close', () => {
        count -= 1;
        opts.onChange?.(count);
      });
      next();
    },
  };
}
