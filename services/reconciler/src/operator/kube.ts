import {
  ApiException,
  CoordinationV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';

/** The Kubernetes API clients the operator uses, from KUBECONFIG or the in-cluster service account. */
export type Kube = {
  config: KubeConfig;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  events: EventsV1Api;
  version: VersionApi;
  watch: Watch;
};

export function createKube(config?: KubeConfig): Kube {
  const kc = config ?? new KubeConfig();
  if (!config) kc.loadFromDefault();
  return {
    config: kc,
    custom: kc.makeApiClient(CustomObjectsApi),
    coordination: kc.makeApiClient(CoordinationV1Api),
    events: kc.makeApiClient(EventsV1Api),
    version: kc.makeApiClient(VersionApi),
    watch: new Watch(kc),
  };
}

/** The HTTP status of a failed API call (0 when it never got an answer). */
export function statusOf(err: unknown): number {
  return err instanceof ApiException ? err.code : 0;
}

/** A short, secret-free description of an API failure for logs and status messages. */
export function describeApiError(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as { reason?: string; message?: string } | string | undefined;
    const detail =
      typeof body === 'object' && body ? `${body.reason ?? ''} ${body.message ?? ''}`.trim() : '';
    return `HTTP ${err.code}${detail ? `: ${detail.slice(0, 300)}` : ''}`;
  }
  return err instanceof Error ? `${err.name}: ${err.message.slice(0, 300)}` : 'unknown error';
}
