import { createContext, useContext, useEffect, useMemo, useState } from 'react';
import { canWrite, clearSession, introspect, loadSession, registry, saveSession, scheduler, schedulerStatus, type RegistryApi, type SchedulerApi, type SchedulerStatus, type Session } from './api.js';
import { ModelPage } from './pages/model.js';
import { ModelsPage } from './pages/models.js';
import { RunPage, RunsPage } from './pages/runs.js';
import { ErrorNote } from './util.js';

export interface Ctx {
  session: Session;
  writer: boolean;
  registry: RegistryApi;
  scheduler: SchedulerApi;
  /** null while asked; reachable false: every scheduler panel shows that state instead of calling */
  schedulerStatus: SchedulerStatus | null;
  recheckScheduler: () => void;
}
const AppContext = createContext<Ctx | null>(null);
export const useApp = (): Ctx => useContext(AppContext)!;

/** Hash routes (#/, #/models/<name>, #/runs, #/runs/<id>): the server serves one index.html. */
function useRoute(): string[] {
  const read = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  if (!session) {
    return (
      <Login
        onLogin={(s) => {
          saveSession(s);
          setSession(s);
        }}
      />
    );
  }
  return (
    <Shell
      session={session}
      onLogout={() => {
        clearSession();
        setSession(null);
        window.location.hash = '#/';
      }}
    />
  );
}

function Login({ onLogin }: { onLogin: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await introspect(key.trim());
      if (!r.active || !r.role || !r.name) {
        setError('This key is not active: it is unknown or revoked.');
        setBusy(false);
        return;
      }
      onLogin({ key: key.trim(), name: r.name, role: r.role });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <main className="login">
      <form onSubmit={submit} className="card" data-testid="login">
        <h1>Contender console</h1>
        <p>Paste an API key. It is checked with the registry and kept in this tab only (sessionStorage) until you sign out or close the tab.</p>
        <label>
          API key
          <input type="password" name="apiKey" autoComplete="off" spellCheck={false} value={key} onChange={(e) => setKey(e.target.value)} required />
        </label>
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy || key.trim().length === 0}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function Shell({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const route = useRoute();
  const [status, setStatus] = useState<SchedulerStatus | null>(null);
  const [check, setCheck] = useState(0);
  useEffect(() => {
    let live = true;
    setStatus(null);
    schedulerStatus(session.key).then(
      (s) => live && setStatus(s),
      () => live && setStatus({ reachable: false, url: '' }),
    );
    return () => {
      live = false;
    };
  }, [check, session.key]);
  // The clients change only with the key, so a scheduler status change does not reload every page.
  const apis = useMemo(
    () => ({
      registry: registry(session.key),
      scheduler: scheduler(session.key, () => setStatus((s) => (s && s.reachable ? { ...s, reachable: false } : s))),
    }),
    [session.key],
  );
  const ctx = useMemo<Ctx>(
    () => ({ session, writer: canWrite(session.role), ...apis, schedulerStatus: status, recheckScheduler: () => setCheck((c) => c + 1) }),
    [session, apis, status],
  );
  let page: React.ReactNode;
  if (route[0] === 'models' && route[1]) page = <ModelPage key={route[1]} name={route[1]} />;
  else if (route[0] === 'runs' && route[1]) page = <RunPage key={route[1]} id={route[1]} />;
  else if (route[0] === 'runs') page = <RunsPage />;
  else page = <ModelsPage />;
  return (
    <AppContext.Provider value={ctx}>
      <header className="top">
        <a href="#/" className="brand">
          Contender
        </a>
        <nav>
          <a href="#/" className={route[0] !== 'runs' ? 'active' : ''}>
            Models
          </a>
          <a href="#/runs" className={route[0] === 'runs' ? 'active' : ''}>
            Runs
          </a>
        </nav>
        <span className="who" data-testid="who">
          {session.name} · <b>{session.role}</b>
        </span>
        <button type="button" onClick={onLogout}>
          Sign out
        </button>
      </header>
      <SchedulerBanner />
      <main className="page">{page}</main>
    </AppContext.Provider>
  );
}

function SchedulerBanner() {
  const { schedulerStatus: s, recheckScheduler } = useApp();
  if (!s || s.reachable) return null;
  return (
    <div className="banner" role="status" data-testid="scheduler-unreachable">
      Scheduler not reachable{s.url ? ` at ${s.url}` : ''}: runs, drift and evaluation reports are unavailable; the registry works as usual.{' '}
      <button type="button" onClick={recheckScheduler}>
        Try again
      </button>
    </div>
  );
}

/** For a scheduler panel: what to show while the scheduler is being asked about, or absent. */
export function SchedulerGate({ children }: { children: React.ReactNode }) {
  const { schedulerStatus: s } = useApp();
  if (!s) return <p className="muted">Asking the scheduler…</p>;
  if (!s.reachable) return <p className="muted" data-testid="scheduler-unavailable">Scheduler not reachable.</p>;
  return <>{children}</>;
}
