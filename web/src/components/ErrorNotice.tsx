import { describeError, technicalDetail } from "../api/errors";

interface ErrorNoticeProps {
  error: unknown;
  onRetry?: () => void;
  testId?: string;
}

/** An error in words a person understands, with the server's details on demand and a retry. */
export function ErrorNotice({ error, onRetry, testId = "error" }: ErrorNoticeProps) {
  if (!error) return null;
  const detail = technicalDetail(error);
  return (
    <div className="notice notice--error" role="alert" data-testid={testId}>
      <span>{describeError(error)}</span>
      {onRetry && (
        <button type="button" className="button button--small" onClick={onRetry}>
          Try again
        </button>
      )}
      {detail && (
        <details className="notice__details">
          <summary>Details</summary>
          <code>{detail}</code>
        </details>
      )}
    </div>
  );
}
