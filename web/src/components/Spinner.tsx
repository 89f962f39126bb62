/** A small spinning ring; `label` is read by screen readers. */
export function Spinner({ label }: { label: string }) {
  return (
    <span className="spinner" role="status">
      <span className="spinner__ring" aria-hidden="true" />
      <span className="visually-hidden">{label}</span>
    </span>
  );
}

/** A loading line for a panel: spinner plus visible text. */
export function Loading({ text }: { text: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner__ring" aria-hidden="true" />
      {text}
    </p>
  );
}
