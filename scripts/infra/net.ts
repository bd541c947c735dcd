import { connect, createServer } from 'node:net';

/** True when nothing listens on host:port (we can bind it ourselves). */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Connects, optionally writes `request`, and resolves with the first `want` bytes the server sends
 * (or undefined on refusal, reset or timeout).
 */
function exchange(host: string, port: number, request: Buffer | undefined, want: number, timeoutMs: number) {
  return new Promise<Buffer | undefined>((resolve) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let got = 0;
    const finish = (result: Buffer | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish(undefined));
    socket.once('error', () => finish(undefined));
    socket.once('close', () => finish(got >= want ? Buffer.concat(chunks) : undefined));
    socket.once('connect', () => {
      if (request) socket.write(request);
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= want) finish(Buffer.concat(chunks));
    });
  });
}

/**
 * A MySQL/MariaDB server that accepts connections sends a packet first: its handshake (protocol
 * version 10) or, for a host with no account yet, an error packet (0xff). Either means it answers.
 */
export async function mysqlAnswers(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  const reply = await exchange(host, port, undefined, 5, timeoutMs);
  return reply !== undefined && (reply[4] === 10 || reply[4] === 0xff);
}

/**
 * Sends a Kafka ApiVersions v0 request and checks the broker answers it without error: the broker
 * is then processing requests, not merely bound to the port.
 */
export async function kafkaAnswers(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  const clientId = Buffer.from('paysync-infra');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0); // api_key ApiVersions
  body.writeInt16BE(0, 2); // api_version 0
  body.writeInt32BE(7, 4); // correlation id
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  const reply = await exchange(host, port, Buffer.concat([size, body]), 10, timeoutMs);
  return reply !== undefined && reply.readInt32BE(4) === 7 && reply.readInt16BE(8) === 0;
}
