/**
 * A problem with the input data (as opposed to a bug or a bad argument). Carries the 1-based
 * physical line of the file (the header is line 1) and the column name when they are known, and
 * puts both at the front of the message so a one-line CLI error points at the cell.
 */
export class DataError extends Error {
  readonly line: number | undefined;
  readonly column: string | undefined;

  constructor(message: string, where: { line?: number; column?: string } = {}) {
    const prefix = [where.line !== undefined ? `line ${where.line}` : '', where.column !== undefined ? `column "${where.column}"` : '']
      .filter(Boolean)
      .join(', ');
    super(prefix ? `${prefix}: ${message}` : message);
    this.name = 'DataError';
    this.line = where.line;
    this.column = where.column;
  }
}
