import { connect, createServer, type Server, type Socket } from 'node:net';
import { uniqueName } from '@paysync/testkit';
import { Kafka, logLevel } from 'kafkajs';

/**
 * A TCP proxy in front of the test broker that a test can cut and restore, to take Kafka away
 * from one client without stopping the broker other suites share.
 */
export type KafkaProxy = {
  port: number;
  /** A Kafka client whose every connection goes through the proxy. */
  kafka(): Kafka;
  /** Closes the listener and every open connection: the client sees Kafka go away. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
};

export async function startKafkaProxy(broker: string): Promise<KafkaProxy> {
  const i = broker.lastIndexOf(':');
  const target = { host: broker.slice(0, i), port: Number(broker.slice(i + 1)) };
  const open = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(target);
        open.add(client);
        open.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          open.delete(client);
          open.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  await listen();

  const cut = async () => {
    const s = server;
    server = undefined;
    for (const socket of open) socket.destroy();
    open.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  return {
    get port() {
      return port;
    },
    kafka: () =>
      new Kafka({
        clientId: uniqueName('gw-proxied'),
        // The broker's metadata names its own advertised address: route every connection, to
        // whatever host and port, through the proxy, or the client would bypass it after bootstrap.
        brokers: [`127.0.0.1:${port}`],
        socketFactory: ({ onConnect }) => {
          const socket = connect({ host: '127.0.0.1', port }, onConnect);
          socket.setKeepAlive(true, 60_000);
          return socket;
        },
        connectionTimeout: 1000,
        requestTimeout: 2000,
        retry: { initialRetryTime: 100, retries: 5 },
        logLevel: logLevel.NOTHING,
      }),
    cut,
    restore: listen,
    close: cut,
  };
}
