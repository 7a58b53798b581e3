/**
 * Pure validation for the purchase form. No DOM access: every function takes
 * plain values and returns an error message (string) or null when valid.
 * The rules mirror the purchase API's; the server stays the authority.
 * @module validation
 */

export const MAX_NAME_LENGTH = 100;
export const MAX_EMAIL_LENGTH = 254;

export const MAX_EMAIL_LOCAL_LENGTH = 64;

// The server's rule for names: no control (Cc), format (Cf: bidi marks and overrides, zero-width
// characters), private-use (Co), unassigned (Cn) or surrogate (Cs) code point, no line or paragraph
// separator (Zl, Zp); except a zero-width non-joiner or joiner after a letter, and before a letter, a space
// or the end, as Persian and the Indic scripts write them in names.
const CONTROL_CHARS = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}]/u;
const JOINERS = new Set(["\u200c", "\u200d"]);
const IN_A_WORD = /[\p{L}\p{M}]/u;
// Nor a web or email address (the server's ADDRESS_IN_NAME): names are greeted in the confirmation email.
const ADDRESS_IN_NAME = /:\/\/|www\.|@/i;
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ASCII = /^[\x21-\x7e]*$/;

/**
 * Length in Unicode code points (what the Python server counts), not UTF-16 units.
 * @param {string} value
 * @returns {number}
 */
function codePointLength(value) {
  return [...value].length;
}

/**
 * @param {unknown} value
 * @returns {string}
 */
function asString(value) {
  return typeof value === "string" ? value : value == null ? "" : String(value);
}

/**
 * True if the text contains a control character we refuse in names.
 * @param {string} value
 * @returns {boolean}
 */
export function hasControlCharacters(value) {
  const characters = [...value];
  return characters.some((character, at) => {
    if (!JOINERS.has(character)) return CONTROL_CHARS.test(character);
    const before = characters[at - 1];
    const after = characters[at + 1];
    const joins = before !== undefined && IN_A_WORD.test(before);
    return !(joins && (after === undefined || /\s/u.test(after) || IN_A_WORD.test(after)));
  });
}

/**
 * Validate a person's name (the buyer's or the cardholder's).
 * @param {string} value Raw input.
 * @param {string} [label="your name"] How to refer to the field in messages.
 * @returns {string|null} Error message, or null if valid.
 */
export function validateName(value, label = "your name") {
  // Composed first, as the server counts: an accent typed as a combining mark is one character, not two.
  const trimmed = asString(value).normalize("NFC").trim();
  if (trimmed === "") return `Enter ${label}.`;
  if (codePointLength(trimmed) > MAX_NAME_LENGTH) {
    return `Use at most ${MAX_NAME_LENGTH} characters for ${label}.`;
  }
  if (hasControlCharacters(trimmed)) return `Remove the invisible or control characters from ${label}.`;
  if (ADDRESS_IN_NAME.test(trimmed)) return `Use a name, not a web or email address, for ${label}.`;
  return null;
}

/**
 * Validate an email address with a deliberately simple shape check.
 * @param {string} value Raw input.
 * @returns {string|null} Error message, or null if valid.
 */
export function validateEmail(value) {
  const trimmed = asString(value).trim();
  if (trimmed === "") return "Enter your email address.";
  if (codePointLength(trimmed) > MAX_EMAIL_LENGTH) {
    return `Use at most ${MAX_EMAIL_LENGTH} characters for your email address.`;
  }
  if (!EMAIL_SHAPE.test(trimmed)) return "Enter an email address like name@example.com.";
  const local = trimmed.slice(0, trimmed.lastIndexOf("@"));
  // Email cannot carry other characters before the @ (no SMTPUTF8), nor more than 64 of them.
  if (!ASCII.test(local)) return "Use only unaccented letters, digits and punctuation before the @.";
  if (local.length > MAX_EMAIL_LOCAL_LENGTH) {
    return `Use at most ${MAX_EMAIL_LOCAL_LENGTH} characters before the @.`;
  }
  return null;
}

/**
 * Remove the spaces and hyphens people type between groups of card digits.
 * @param {string} value
 * @returns {string}
 */
export function normaliseCardNumber(value) {
  return asString(value).replace(/[\s-]/g, "");
}

/**
 * Luhn (mod 10) checksum.
 * @param {string} digits A string of ASCII digits only.
 * @returns {boolean} True if the checksum is valid.
 */
export function luhnCheck(digits) {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let digit = digits.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Validate a card number: 12–19 digits (spaces and hyphens ignored) passing Luhn.
 * @param {string} value Raw input.
 * @returns {string|null} Error message, or null if valid.
 */
export function validateCardNumber(value) {
  const digits = normaliseCardNumber(value);
  if (digits === "") return "Enter your card number.";
  if (!/^\d+$/.test(digits)) return "Use only digits in the card number.";
  if (digits.length < 12 || digits.length > 19) return "Enter a card number of 12 to 19 digits.";
  if (!luhnCheck(digits)) return "Check your card number: it doesn't look right.";
  return null;
}

/**
 * Parse a whole number made only of ASCII digits.
 * @param {unknown} value
 * @returns {number|null}
 */
function parseDigits(value) {
  const text = asString(value).trim();
  return /^\d{1,4}$/.test(text) ? Number(text) : null;
}

/**
 * Validate a card expiry date. The card is valid until the end of its expiry month.
 * @param {string} month "1"–"12".
 * @param {string} year Four-digit year.
 * @param {Date} [now=new Date()] The current date (injectable for tests).
 * @returns {{cardExpiryMonth?: string, cardExpiryYear?: string}} Errors keyed by field; empty if valid.
 */
export function validateExpiry(month, year, now = new Date()) {
  /** @type {{cardExpiryMonth?: string, cardExpiryYear?: string}} */
  const errors = {};
  const m = parseDigits(month);
  const y = parseDigits(year);
  if (m === null || m < 1 || m > 12) errors.cardExpiryMonth = "Choose the expiry month.";
  if (y === null || y < 1000) errors.cardExpiryYear = "Choose the expiry year.";
  if (Object.keys(errors).length > 0) return errors;

  const thisYear = now.getFullYear();
  const thisMonth = now.getMonth() + 1;
  if (y < thisYear) errors.cardExpiryYear = "This card has expired: check the expiry year.";
  else if (y === thisYear && m < thisMonth) {
    errors.cardExpiryMonth = "This card has expired: check the expiry month.";
  }
  return errors;
}

/**
 * Validate a card security code: 3 or 4 digits.
 * @param {string} value Raw input.
 * @returns {string|null} Error message, or null if valid.
 */
export function validateCVC(value) {
  const trimmed = asString(value).trim();
  if (trimmed === "") return "Enter the security code.";
  if (!/^\d{3,4}$/.test(trimmed)) return "Enter the 3 or 4 digit security code.";
  return null;
}

/**
 * The terms must be accepted.
 * @param {boolean} accepted
 * @returns {string|null} Error message, or null if valid.
 */
export function validateDisclaimer(accepted) {
  return accepted === true ? null : "Tick the box to accept the terms.";
}

/**
 * @typedef {object} PurchaseFields
 * @property {string} name
 * @property {string} email
 * @property {string} nameOnCard
 * @property {string} cardNumber
 * @property {string} cardExpiryMonth
 * @property {string} cardExpiryYear
 * @property {string} cardCVC
 * @property {boolean} disclaimerAccepted
 */

/**
 * Validate every purchase field.
 * @param {PurchaseFields} fields Raw form values.
 * @param {Date} [now=new Date()] The current date (injectable for tests).
 * @returns {Record<string, string>} Errors keyed by API field name, in form order; empty if valid.
 */
export function validatePurchase(fields, now = new Date()) {
  /** @type {Record<string, string|null|undefined>} */
  const candidates = {
    name: validateName(fields.name, "your name"),
    email: validateEmail(fields.email),
    nameOnCard: validateName(fields.nameOnCard, "the name on the card"),
    cardNumber: validateCardNumber(fields.cardNumber),
    ...validateExpiry(fields.cardExpiryMonth, fields.cardExpiryYear, now),
    cardCVC: validateCVC(fields.cardCVC),
    disclaimerAccepted: validateDisclaimer(fields.disclaimerAccepted),
  };
  /** @type {Record<string, string>} */
  const errors = {};
  for (const [field, message] of Object.entries(candidates)) {
    if (message) errors[field] = message;
  }
  return errors;
}
