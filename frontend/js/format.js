/**
 * Display formatting for API values. Every function accepts untrusted input and
 * falls back to the raw text (or "") rather than throwing or printing "NaN".
 * @module format
 */

/** The page is in English: use the reader's English variant if they have one, else plain "en". */
const LOCALE =
  (typeof navigator !== "undefined" &&
    (navigator.languages || [navigator.language]).find((tag) => /^en\b/i.test(tag || ""))) ||
  "en";

const dateFormat = new Intl.DateTimeFormat(LOCALE, {
  weekday: "short",
  day: "numeric",
  month: "long",
  year: "numeric",
  timeZone: "UTC",
});
const timeFormat = new Intl.DateTimeFormat(LOCALE, {
  hour: "numeric",
  minute: "2-digit",
  timeZone: "UTC",
});
const priceFormat = new Intl.NumberFormat(LOCALE, { style: "currency", currency: "USD" });
const numberFormat = new Intl.NumberFormat(LOCALE);

/**
 * Coerce an untrusted value to display text.
 * @param {unknown} value
 * @returns {string}
 */
export function text(value) {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return "";
}

/**
 * Parse "YYYY-MM-DD" as a calendar date (UTC midnight), rejecting impossible dates.
 * @param {unknown} iso
 * @returns {Date|null}
 */
export function parseIsoDate(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text(iso));
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  const valid =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return valid ? date : null;
}

/**
 * Format an ISO calendar date ("1985-07-13") without any time-zone shift.
 * @param {unknown} iso
 * @returns {string} e.g. "Sat, July 13, 1985"; the raw text if it isn't a valid date.
 */
export function formatDate(iso) {
  const date = parseIsoDate(iso);
  return date ? dateFormat.format(date) : text(iso);
}

/**
 * Format a 24-hour "HH:MM" wall-clock time in the reader's convention.
 * @param {unknown} hhmm
 * @returns {string} e.g. "6:30 PM"; the raw text if it isn't a valid time.
 */
export function formatTime(hhmm) {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text(hhmm));
  if (!match) return text(hhmm);
  return timeFormat.format(new Date(Date.UTC(1970, 0, 1, Number(match[1]), Number(match[2]))));
}

/**
 * True if the value is a plain decimal amount such as "1156.00".
 * @param {unknown} amount
 * @returns {boolean}
 */
export function isPrice(amount) {
  return /^\d+(\.\d+)?$/.test(text(amount).trim());
}

/**
 * Format a decimal price string ("1156.00") as US dollars.
 * @param {unknown} amount
 * @returns {string} e.g. "$1,156.00"; the raw text if it isn't a plain decimal.
 */
export function formatPrice(amount) {
  const raw = text(amount).trim();
  return isPrice(raw) ? priceFormat.format(Number(raw)) : raw;
}

/**
 * Format a whole number with grouping ("72,000").
 * @param {unknown} value
 * @returns {string}
 */
export function formatNumber(value) {
  return typeof value === "number" && Number.isFinite(value) ? numberFormat.format(value) : text(value);
}

/**
 * A gig's `ticketsLeft` as a whole number of seats, or null if the API sent none it is worth showing.
 * @param {unknown} value
 * @returns {number|null}
 */
export function ticketsLeft(value) {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : null;
}

/**
 * Say how many tickets are left: "Sold out", "1 ticket left", "72,000 tickets left".
 * @param {unknown} value The API's `ticketsLeft`.
 * @returns {string} "" if the value isn't a count of seats.
 */
export function formatTicketsLeft(value) {
  const left = ticketsLeft(value);
  if (left === null) return "";
  if (left === 0) return "Sold out";
  return `${numberFormat.format(left)} ${left === 1 ? "ticket" : "tickets"} left`;
}
