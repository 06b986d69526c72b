import { useState } from "react";

/** A secret the server shows exactly once: visible, copyable, and gone when dismissed. */
export function SecretOnce({
  title,
  secret,
  onDismiss,
  note,
}: {
  title: string;
  secret: string;
  onDismiss: () => void;
  note?: string;
}) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div className="secret" role="alert" aria-live="assertive">
      <div>
        <strong>{title}</strong>
        <p className="small">
          Copy it now: ReSight stores only a hash and will not show it again.{note ? ` ${note}` : ""}
        </p>
        <code className="secret-value" data-testid="secret-value">
          {secret}
        </code>
      </div>
      <div className="secret-actions">
        <button type="button" className="btn btn-small" onClick={copy}>
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" className="btn btn-small btn-ghost" onClick={onDismiss}>
          I have saved it
        </button>
      </div>
    </div>
  );
}
