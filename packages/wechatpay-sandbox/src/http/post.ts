import http from 'node:http';
import https from 'node:https';

export type PostResult =
  | { kind: 'answered'; status: number }
  | { kind: 'timeout' }
  | { kind: 'connection_refused' }
  | { kind: 'network_error'; code: string };

export interface Poster {
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResult>;
  /** Aborts every request in flight and drops pooled sockets. */
  close(): void;
}

/** POSTs with node:http(s) on keep-alive agents the poster owns, so close() leaves no socket behind. */
export function createPoster(): Poster {
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };
  const inFlight = new Set<http.ClientRequest>();

  function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number) {
    return new Promise<PostResult>((resolve) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const request = (secure ? https : http).request(target, {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
      });
      inFlight.add(request);
      let settled = false;
      const finish = (result: PostResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        inFlight.delete(request);
        resolve(result);
      };
      const timer = setTimeout(() => {
        finish({ kind: 'timeout' });
        request.destroy();
      }, timeoutMs);
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => finish({ kind: 'answered', status: response.statusCode ?? 0 }));
        response.on('error', () => finish({ kind: 'network_error', code: 'ERESPONSE' }));
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') finish({ kind: 'connection_refused' });
        else finish({ kind: 'network_error', code: error.code ?? 'EUNKNOWN' });
      });
      request.end(body);
    });
  }

  return {
    post,
    close() {
      for (const request of inFlight) request.destroy();
      inFlight.clear();
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
