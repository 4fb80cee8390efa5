import { Counter, Gauge, type Registry } from 'prom-client';

export interface RegistryMetrics {
  versionsRegistered: Counter<'model'>;
  aliasMoves: Counter<'alias'>;
  promotions: Counter<'model' | 'outcome'>;
  rollbacks: Counter<'model'>;
  uploadsRejected: Counter<'reason'>;
  datasetVersionsCreated: Counter;
  datasetUploadsRejected: Counter<'reason'>;
  eventPublishFailures: Counter;
  orphanArtifactsRemoved: Counter;
  models: Gauge;
}

/** Labels are bounded: model names (few, operator-made), alias kind, outcome and reason enums. */
export function createRegistryMetrics(registry: Registry, opts: { countModels?: () => Promise<number> } = {}): RegistryMetrics {
  const r = [registry];
  return {
    versionsRegistered: new Counter({ name: 'registry_versions_registered_total', help: 'Model versions registered', labelNames: ['model'], registers: r }),
    aliasMoves: new Counter({
      name: 'registry_alias_moves_total',
      help: 'Alias sets, deletions, promotions and rollbacks, by alias (champion, challenger, other)',
      labelNames: ['alias'],
      registers: r,
    }),
    promotions: new Counter({
      name: 'registry_promotions_total',
      help: 'Promotion attempts by outcome (promoted, forced, gate_failed)',
      labelNames: ['model', 'outcome'],
      registers: r,
    }),
    rollbacks: new Counter({ name: 'registry_rollbacks_total', help: 'Champion rollbacks', labelNames: ['model'], registers: r }),
    uploadsRejected: new Counter({
      name: 'registry_uploads_rejected_total',
      help: 'Version uploads refused, by reason (invalid_model, non_tensor_output, feature_mismatch, too_large, bad_metadata)',
      labelNames: ['reason'],
      registers: r,
    }),
    datasetVersionsCreated: new Counter({ name: 'registry_dataset_versions_created_total', help: 'Dataset versions created', registers: r }),
    datasetUploadsRejected: new Counter({
      name: 'registry_dataset_uploads_rejected_total',
      help: 'Dataset version uploads refused, by reason (csv_ragged_row, csv_unterminated_quote, csv_no_header, csv_invalid_quote, csv_invalid_header, too_large, bad_request)',
      labelNames: ['reason'],
      registers: r,
    }),
    eventPublishFailures: new Counter({
      name: 'registry_event_publish_failures_total',
      help: 'Registry events that could not be published to Redis (serving catches up on reconcile)',
      registers: r,
    }),
    orphanArtifactsRemoved: new Counter({
      name: 'registry_orphan_artifacts_removed_total',
      help: 'Version artifacts removed by the sweep because no model version refers to them (left by interrupted uploads)',
      registers: r,
    }),
    models: new Gauge({
      name: 'registry_models',
      help: 'Registered models',
      registers: r,
      async collect() {
        if (opts.countModels) this.set(await opts.countModels());
      },
    }),
  };
}
