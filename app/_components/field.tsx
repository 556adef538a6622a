'use client';
// A labelled form field with the API's error shown right under it (and tied
// to the input with aria-describedby / aria-invalid).
import { useId, type ReactElement, type ReactNode } from 'react';
import { cloneElement } from 'react';

export interface FieldProps {
  label: string;
  error?: string | null;
  hint?: ReactNode;
  children: ReactElement<Record<string, unknown>>;
}

export function Field({ label, error, hint, children }: FieldProps) {
  const id = useId();
  const errId = `${id}-err`;
  const control = cloneElement(children, {
    id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error ? errId : undefined,
  });
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {control}
      {hint ? <small className="hint">{hint}</small> : null}
      {error ? <p id={errId} className="field-error" role="alert">{error}</p> : null}
    </div>
  );
}
