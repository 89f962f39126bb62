import { describeError } from "../api/errors";

interface ErrorNoticeProps {
  error: unknown;
  onRetry?: () => void;
  testId?: string;
}

/** An error in words a person understands, with an optional retry. */
export function ErrorNotice({ error, onRetry, testId = "error" }: ErrorNoticeProps) {
  if (!error) return null;
  return (
    <div className="notice notice--error" role="alert" data-testid={testId}>
      <span>{describeError(error)}</span>
      {onRetry && (
        <button type="button" className="button button--small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
