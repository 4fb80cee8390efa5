import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { RegistryClient } from '../client/registry-client.js';
import { SchedulerClient } from '../client/scheduler-client.js';
import { ServingClient } from '../client/serving-client.js';

/** What `contender login` writes, and what the environment overrides. */
export interface Profile {
  registryUrl?: string;
  servingUrl?: string;
  schedulerUrl?: string;
  apiKey?: string;
}

export const DEFAULT_URLS = {
  registryUrl: 'http://127.0.0.1:8081',
  servingUrl: 'http://127.0.0.1:8080',
  schedulerUrl: 'http://127.0.0.1:8082',
} as const;

/** $CONTENDER_CONFIG, else ~/.config/contender/profile.json. */
export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CONTENDER_CONFIG || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'contender', 'profile.json');
}

export async function readProfile(env: NodeJS.ProcessEnv = process.env): Promise<Profile> {
  try {
    return JSON.parse(await readFile(profilePath(env), 'utf8')) as Profile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read the profile ${profilePath(env)}: ${(err as Error).message}`);
  }
}

/** Writes the profile readable by its owner only (0600; the folder 0700). */
export async function writeProfile(profile: Profile, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const path = profilePath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

export interface Settings {
  registryUrl: string;
  servingUrl: string;
  schedulerUrl: string;
  apiKey: string | undefined;
}

/** The environment (CONTENDER_REGISTRY_URL, …_SERVING_URL, …_SCHEDULER_URL, …_API_KEY) over the profile over the local defaults. */
export async function loadSettings(env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const p = await readProfile(env);
  return {
    registryUrl: env.CONTENDER_REGISTRY_URL || p.registryUrl || DEFAULT_URLS.registryUrl,
    servingUrl: env.CONTENDER_SERVING_URL || p.servingUrl || DEFAULT_URLS.servingUrl,
    schedulerUrl: env.CONTENDER_SCHEDULER_URL || p.schedulerUrl || DEFAULT_URLS.schedulerUrl,
    apiKey: env.CONTENDER_API_KEY || p.apiKey || undefined,
  };
}

export interface Clients {
  settings: Settings;
  registry: RegistryClient;
  serving: ServingClient;
  scheduler: SchedulerClient;
}

export async function clients(env: NodeJS.ProcessEnv = process.env): Promise<Clients> {
  const s = await loadSettings(env);
  return {
    settings: s,
    registry: new RegistryClient({ baseUrl: s.registryUrl, apiKey: s.apiKey, timeoutMs: 300_000 }),
    serving: new ServingClient({ baseUrl: s.servingUrl, apiKey: s.apiKey }),
    scheduler: new SchedulerClient({ baseUrl: s.schedulerUrl, apiKey: s.apiKey }),
  };
}
