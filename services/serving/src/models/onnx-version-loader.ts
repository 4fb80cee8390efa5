import type { DeployedVersion, Task } from '@contender/contracts';
import type { ArtifactCache } from './artifact-cache.js';
import { LoadedVersion, type SessionSettings } from './loaded-version.js';
import type { ManagedVersion, VersionLoader } from './served-model.js';

/** Loads a version from its sha256-checked artifact into an onnxruntime session. */
export class OnnxVersionLoader implements VersionLoader {
  constructor(private readonly deps: { artifacts: ArtifactCache; settings: SessionSettings }) {}

  async load(model: string, task: Task, deployed: DeployedVersion): Promise<ManagedVersion> {
    const bytes = await this.deps.artifacts.get(deployed);
    return LoadedVersion.load({ bytes, model, task, deployed, settings: this.deps.settings });
  }
}
