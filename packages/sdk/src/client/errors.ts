/** A server's JSON error (`{ error: { code, message, details, requestId } }`) as an exception. */
export class ContenderApiError extends Error {
  override readonly name = 'ContenderApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
    readonly requestId: string | null,
  ) {
    super(message);
  }

  /** 5xx, 429 and connection failures are worth retrying; other 4xx are not. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 0;
  }
}
