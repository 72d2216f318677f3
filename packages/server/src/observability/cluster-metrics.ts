import cluster from 'node:cluster';
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';
import { METRICS_REQUEST, METRICS_RESPONSE } from '../cluster.ts';

/**
 * Metrics with `ROSTER_WORKERS` > 1. Each worker keeps its own counters; a scrape lands on one worker, which asks
 * the primary, which collects every worker's metrics over the cluster's IPC channel (prom-client's
 * AggregatorRegistry) and sums them: counters and histograms add up, gauges add up unless they say otherwise
 * (`roster_info` is the same in every worker and is taken once).
 */

/** In a worker: makes `registries` the ones this worker reports when the primary collects. */
export function reportToPrimary(registries: Registry[]): void {
  // Constructing one installs prom-client's listener for the primary's collection requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries(registries);
}

let aggregator: AggregatorRegistry<PrometheusContentType> | undefined;

/** In the primary: every worker's metrics, summed, as Prometheus text. */
export function clusterMetricsText(): Promise<string> {
  aggregator ??= new AggregatorRegistry();
  return aggregator.clusterMetrics();
}

const pending = new Map<number, { resolve: (text: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
let nextId = 0;
let listening = false;

/** In a worker: the summed metrics of all workers, from the primary. */
export function metricsFromPrimary(timeoutMs = 10_000): Promise<string> {
  const send = process.send?.bind(process);
  if (!cluster.isWorker || !send) return Promise.reject(new Error('not a cluster worker'));
  if (!listening) {
    listening = true;
    process.on('message', (message: unknown) => {
      const response = message as { type?: unknown; id?: unknown; text?: unknown; error?: unknown } | null;
      if (response?.type !== METRICS_RESPONSE || typeof response.id !== 'number') return;
      const waiting = pending.get(response.id);
      if (!waiting) return;
      pending.delete(response.id);
      clearTimeout(waiting.timer);
      if (typeof response.text === 'string') waiting.resolve(response.text);
      else waiting.reject(new Error(`the primary could not collect the workers' metrics: ${String(response.error)}`));
    });
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`the primary did not answer with the workers' metrics within ${timeoutMs} ms`));
    }, timeoutMs);
    pending.set(id, { resolve, reject, timer });
    send({ type: METRICS_REQUEST, id });
  });
}
