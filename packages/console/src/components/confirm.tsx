import { useState, type ReactNode } from 'react';
import { ErrorNote } from '../util.js';

export interface ConfirmRequest {
  title: string;
  body: ReactNode;
  /** a reason is required for every registry move: it goes into the audit trail */
  reasonRequired: boolean;
  confirmLabel: string;
  run: (reason: string) => Promise<unknown>;
}

/** A modal that names the move, asks for a reason, and only then calls the API. */
export function ConfirmDialog({ req, onClose }: { req: ConfirmRequest; onClose: (done: boolean) => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const ok = !req.reasonRequired || reason.trim().length > 0;
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await req.run(reason.trim());
      onClose(true);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <div className="overlay" role="presentation">
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="confirm-title" data-testid="confirm-dialog">
        <h3 id="confirm-title">{req.title}</h3>
        <div>{req.body}</div>
        <label>
          Reason (kept in the audit trail){req.reasonRequired ? '' : ', optional'}
          <textarea name="reason" value={reason} maxLength={2000} rows={3} onChange={(e) => setReason(e.target.value)} autoFocus />
        </label>
        <ErrorNote error={error} />
        <div className="buttons">
          <button type="button" onClick={() => onClose(false)} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="primary" data-testid="confirm" disabled={!ok || busy} onClick={submit}>
            {busy ? 'Working…' : req.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
