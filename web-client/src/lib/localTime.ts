// `<input type="datetime-local">` speaks local wall-clock time without a zone; the API speaks
// RFC 3339. These convert between the two (to the second).

const pad = (n: number) => String(n).padStart(2, "0");

/** An RFC 3339 instant as the value of a datetime-local input, in the browser's zone. */
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A datetime-local value as an RFC 3339 instant (UTC), or null when it is not a time. */
export function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
