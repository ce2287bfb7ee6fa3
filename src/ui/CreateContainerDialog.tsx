import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { errorMessage } from './containerOps';
import type { PanelSession } from './session';
import { EMPTY_CREATE_FORM, validateCreateForm, type CreateField, type CreateForm, type FieldErrors } from './validation';

interface FieldSpec {
  field: CreateField;
  label: string;
  placeholder: string;
  hint: string;
}

const FIELDS: FieldSpec[] = [
  { field: 'name', label: 'Name', placeholder: 'web', hint: '1-32 of a-z 0-9 - _' },
  { field: 'memory', label: 'Memory', placeholder: '32M', hint: 'K, M or G; blank: no limit' },
  { field: 'pids', label: 'Processes', placeholder: '64', hint: '1-1000000; blank: no limit' },
  { field: 'cpus', label: 'CPUs', placeholder: '0.5', hint: '0.01-64; blank: no limit' },
  { field: 'hostname', label: 'Hostname', placeholder: 'the name', hint: 'blank: the name' },
  { field: 'ip', label: 'IP address', placeholder: 'allocated', hint: 'a.b.c.d/n; blank: allocated' },
];

/** The form for a new container on one host; it creates, then starts it. */
export function CreateContainerDialog({ session, nodeName, onClose }: { session: PanelSession; nodeName: string; onClose: () => void }) {
  const id = useId();
  const [form, setForm] = useState<CreateForm>(EMPTY_CREATE_FORM);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [checked, setChecked] = useState(false);
  const [sending, setSending] = useState(false);
  const [guestError, setGuestError] = useState<string>();
  const first = useRef<HTMLInputElement>(null);

  useEffect(() => first.current?.focus(), []);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !sending) onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose, sending]);

  const update = (patch: Partial<CreateForm>) => {
    const next = { ...form, ...patch };
    setForm(next);
    // Once the user has tried to submit, errors follow the fields as they are corrected.
    if (checked) {
      const result = validateCreateForm(next);
      setErrors(result.ok ? {} : result.errors);
    }
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setChecked(true);
    setGuestError(undefined);
    const result = validateCreateForm(form);
    if (!result.ok) {
      setErrors(result.errors);
      return;
    }
    setErrors({});
    setSending(true);
    try {
      await session.createContainer(nodeName, result.args);
      onClose();
    } catch (err) {
      setGuestError(errorMessage(err));
      setSending(false);
    }
  };

  return (
    <div className="overlay" onMouseDown={(event) => { if (event.target === event.currentTarget && !sending) onClose(); }}>
      <form className="dialog" role="dialog" aria-modal="true" aria-labelledby={`${id}-title`} onSubmit={submit} noValidate>
        <h3 id={`${id}-title`}>New container on {nodeName}</h3>
        <div className="fields">
          {FIELDS.map(({ field, label, placeholder, hint }) => (
            <div key={field} className={`field${errors[field] ? ' invalid' : ''}`}>
              <label htmlFor={`${id}-${field}`}>{label}</label>
              <input
                id={`${id}-${field}`}
                ref={field === 'name' ? first : undefined}
                name={field}
                value={form[field]}
                placeholder={placeholder}
                autoComplete="off"
                spellCheck={false}
                disabled={sending}
                aria-invalid={errors[field] ? true : undefined}
                aria-describedby={`${id}-${field}-note`}
                onChange={(event) => update({ [field]: event.target.value })}
              />
              {errors[field]
                ? <div id={`${id}-${field}-note`} className="field-error" data-testid="field-error" data-field={field}>{errors[field]}</div>
                : <div id={`${id}-${field}-note`} className="hint">{hint}</div>}
            </div>
          ))}
          <label className="check">
            <input type="checkbox" name="privileged" checked={form.privileged} disabled={sending}
              onChange={(event) => update({ privileged: event.target.checked })} />
            Privileged (no user namespace: root inside is root on the host)
          </label>
        </div>
        {guestError && <div className="guest-error" role="alert" data-testid="create-error">{guestError}</div>}
        <div className="dialog-actions">
          {sending && <span className="busy" role="status"><span className="spinner" /> creating…</span>}
          <button type="button" onClick={onClose} disabled={sending}>Cancel</button>
          <button type="submit" className="primary" disabled={sending}>Create and start</button>
        </div>
      </form>
    </div>
  );
}
