/** Reading the fields of a line-protocol request (both families): a bad request is a `CommandError`. */

/** A parsed request line. */
export type LineJson = Record<string, unknown>;

/** A request the handler refuses; answered as `{"ok":false,"error":message}`. */
export class CommandError extends Error {}

/** The string field `key`; CommandError when missing. */
export function str(o: LineJson, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new CommandError(`missing ${key}`);
  return v;
}

/** The string field `key`, or undefined. */
export function optStr(o: LineJson, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

/** The finite number field `key`, or `fallback`. */
export function num(o: LineJson, key: string, fallback: number): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
