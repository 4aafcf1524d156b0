// Typed errors. Library code throws these; only src/cli/ turns them into messages and exit codes.

/** A failed operation on valid usage: bad model file, failed verification, missing tool (exit 1). */
export class KilnError extends Error {
  override name = 'KilnError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The command line itself is wrong: unknown option value, conflicting flags (exit 2). */
export class UsageError extends KilnError {
  override name = 'UsageError';
}

/** A model file cannot be read, or is not a valid ONNX model. Names the file and the culprit. */
export class ModelError extends KilnError {
  override name = 'ModelError';
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}
