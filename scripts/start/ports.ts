import { createServer } from 'node:net';
import { portFree } from '../infra/net.ts';
import { HOST, type Ports } from './config.ts';
import { StackError } from './errors.ts';

/** Fails with every busy port named when one of the stack's ports is taken. */
export async function assertPortsFree(ports: Ports): Promise<void> {
  const busy: string[] = [];
  for (const [name, port] of Object.entries(ports)) {
    if (!(await portFree(HOST, port))) busy.push(`${name} ${HOST}:${port}`);
  }
  if (busy.length > 0) {
    throw new StackError(
      'PORTS_BUSY',
      `ports the stack needs are taken: ${busy.join(', ')}`,
      '  Another `npm start` (or something else) listens there: `ss -ltnp` shows what.\n' +
        '  Or move the stack: PAYSYNC_PORT_BASE=29000 npm start',
    );
  }
}

/** A port nothing listens on right now (bound and released at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A full set of free ports, for stacks that run beside others (tests, benchmarks). */
export async function freePorts(): Promise<Ports> {
  const ports = {} as Ports;
  const names: (keyof Ports)[] = [
    'gateway',
    'gatewayOps',
    'orders',
    'ordersOps',
    'ledgerOps',
    'alerting',
    'alertingOps',
    'sandbox',
    'smtp',
    'robots',
    'pushgateway',
    'alertmanager',
    'prometheus',
  ];
  const taken = new Set<number>();
  for (const name of names) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports[name] = port;
  }
  return ports;
}
