/*
 * Metric families (output/metrics.ts) as Prometheus text or OpenMetrics,
 * written by prom-client.  One registry per format, each with its own
 * metric objects (prom-client renames a registered counter when it writes
 * OpenMetrics, so the two cannot share them).  Every scrape resets each
 * metric and sets what the families hold: a series that left the families
 * (a site out of the top N) is gone from the next scrape.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Family } from '../output/metrics';

export type MetricsFormat = 'prometheus' | 'openmetrics';

/* The format a scrape's Accept header asks for: OpenMetrics when it names it, else the Prometheus text format. */
export function negotiate(accept: string | undefined): MetricsFormat {
  return accept && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

class FormatRegistry {
  readonly registry: Registry;
  private readonly metrics = new Map<string, Counter | Gauge>();

  constructor(format: MetricsFormat) {
    this.registry = new Registry();
    if (format === 'openmetrics') this.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  }

  private metric(f: Family): Counter | Gauge {
    let m = this.metrics.get(f.name);
    if (!m) {
      const config = { name: f.name, help: f.help, labelNames: f.labelNames, registers: [this.registry] };
      m = f.type === 'counter' ? new Counter(config) : new Gauge(config);
      this.metrics.set(f.name, m);
    }
    return m;
  }

  async render(families: Family[]): Promise<string> {
    for (const f of families) {
      const m = this.metric(f);
      m.reset();
      for (const s of f.samples) {
        if (m instanceof Counter) m.inc(s.labels, Math.max(0, s.value));
        else m.inc(s.labels, s.value); /* inc from 0: series sharing labels add up */
      }
    }
    return this.registry.metrics();
  }
}

export class MetricsExporter {
  private readonly registries: Record<MetricsFormat, FormatRegistry> = {
    prometheus: new FormatRegistry('prometheus'),
    openmetrics: new FormatRegistry('openmetrics'),
  };

  contentType(format: MetricsFormat): string {
    return this.registries[format].registry.contentType;
  }

  render(families: Family[], format: MetricsFormat): Promise<string> {
    return this.registries[format].render(families);
  }
}
