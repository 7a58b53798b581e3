/**
 * Gig page: show one gig and sell a ticket for it.
 * @module gig
 */

import { ApiError, getGig, getTicket, newIdempotencyKey, purchase } from "./api.js";
import { formatDate, formatNumber, formatPrice, formatTime, isPrice, parseIsoDate, text, ticketsLeft } from "./format.js";
import {
  clearStatus,
  el,
  fillGigSummary,
  fillSlot,
  fillTicketsLeft,
  loadErrorMessage,
  setImage,
  showLoadError,
  showProgress,
} from "./ui.js";
import { normaliseCardNumber, validateExpiry, validatePurchase } from "./validation.js";

/** The purchase fields, in form order. Their names are the API's. */
const FIELDS = [
  "name",
  "email",
  "nameOnCard",
  "cardNumber",
  "cardExpiryMonth",
  "cardExpiryYear",
  "cardCVC",
  "disclaimerAccepted",
];
const EXPIRY_YEARS = 16;
const BUSY_LABEL = "Buying…";
const IDEMPOTENCY_KEY = "Idempotency-Key";
// "Still processing this key" (409) is retried this many times, after the answer's Retry-After.
const IN_PROGRESS_RETRIES = 3;
const RETRY_AFTER_DEFAULT_SECONDS = 1; // when the header is missing or unreadable (CORS exposes it only if told)
const RETRY_AFTER_MAX_SECONDS = 10;
// After the 202, the ticket is looked up every second for half a minute: the email is normally sent within a
// second or two, and a buyer who waits longer than that needs a sentence, not a spinner.
const POLL_EVERY_MS = 1000;
const POLL_FOR_MS = 30000;
const AGAIN_WHY = "it won't buy you a second ticket.";
const AGAIN = `Send the same order again: ${AGAIN_WHY}`;
const MESSAGES = {
  network:
    "We can't reach the ticket service, so we don't know if your order went through. Check your connection. " +
    AGAIN,
  timeout: `The ticket service took too long to answer, so we don't know if your order went through. ${AGAIN}`,
  inProgress: `Your order is still being processed. Wait a moment, then send the same order again: ${AGAIN_WHY}`,
  keyReused: "We couldn't tell this order from an earlier one. Please try again.",
  unavailable:
    "We couldn't complete your purchase right now. Nothing was charged. Please try again in a moment.",
  tooLarge: "Your order is too large to process. Please shorten your details and try again.",
  gone: "This gig is no longer available.",
  invalid: "Please check your details and try again.",
};

/**
 * A ticket's status in words: a short label, and what it means for the buyer.
 * @type {Record<string, {label: string, title?: string, detail: (email: HTMLElement) => (Node|string)[]}>}
 */
const TICKET_STATUSES = {
  RESERVED: {
    label: "Reserved — sending your confirmation email…",
    detail: (email) => ["Your seat is booked. We're emailing your confirmation to ", email, "."],
  },
  CONFIRMED: {
    label: "Email sent",
    detail: (email) => [
      "Your confirmation is on its way to ",
      email,
      ". If it isn't in your inbox in a few minutes, look in your spam folder.",
    ],
  },
  PARKED: {
    label: "Email not delivered",
    detail: (email) => [
      "Your seat is booked, but we couldn't email your confirmation to ",
      email,
      ". You don't need it: your ticket ID is all you need to collect your ticket.",
    ],
  },
  RELEASED: {
    label: "Ticket cancelled",
    title: "Your ticket was cancelled",
    detail: () => ["This ticket's seat was given back, so it can't be collected. Nothing was charged for it."],
  },
  // Not an API status: still RESERVED (or not found) when the page stops asking.
  SLOW: {
    label: "Reserved — your confirmation email is taking longer than usual",
    detail: (email) => [
      "Your seat is booked. The email to ",
      email,
      " should arrive soon; your ticket ID is all you need to collect your ticket.",
    ],
  },
};
const SETTLED = new Set(["CONFIRMED", "PARKED", "RELEASED"]);

const status = /** @type {HTMLElement} */ (document.getElementById("status"));
const article = /** @type {HTMLElement} */ (document.getElementById("gig"));
const form = /** @type {HTMLFormElement} */ (document.getElementById("buy-form"));
const summary = /** @type {HTMLElement} */ (document.getElementById("form-errors"));
const submitButton = /** @type {HTMLButtonElement} */ (form.querySelector("button[type='submit']"));

let busy = false;
let submitLabel = submitButton.textContent || "Buy ticket";
let gigId = "";

/**
 * The order last sent and its Idempotency-Key. A key names one order: a retry of the same order (a double
 * submit, a retry after a lost answer) reuses it; a changed order is a new one, with a new key (the API
 * answers 422 to a key reused for a different order). Until the order is answered, its key is also kept in
 * sessionStorage under the order's identity, so that sending it again after leaving the page (Back, a
 * reload) reuses it too: the shop answers with the ticket it made, not a second one.
 * @type {{order: string, identity: string, key: string}|null}
 */
let sent = null;
const PENDING_KEYS = "encore.pendingOrderKeys";
/**
 * The ticket this tab bought for each gig, kept in sessionStorage: a reload, Back or Forward shows its
 * confirmation again rather than an empty form, so the buyer keeps the ticket id and does not buy twice by
 * accident. Only the ticket id and the address masked as the API masks it (`a***@example.com`).
 */
const BOUGHT = "encore.ticketsBought";

/**
 * The form control for an API field name.
 * @param {string} field
 * @returns {HTMLInputElement|HTMLSelectElement|null}
 */
function control(field) {
  if (!FIELDS.includes(field)) return null; // gigId is a hidden input: nothing a buyer can correct
  const node = form.elements.namedItem(field);
  return node instanceof HTMLInputElement || node instanceof HTMLSelectElement ? node : null;
}

/**
 * A field's label as the buyer reads it ("Security code").
 * @param {string} field
 * @returns {string}
 */
function labelOf(field) {
  const input = control(field);
  return (input && form.querySelector(`label[for="${input.id}"]`)?.textContent?.trim()) || "";
}

/* ---------- Rendering the gig ---------- */

/** Replace the page with a "not found" message. */
function showNotFound() {
  document.title = "Gig not found · Encore";
  article.hidden = true;
  status.setAttribute("role", "status");
  status.className = "status status--not-found";
  status.replaceChildren(
    el("h1", {}, "We couldn't find that gig"),
    el("p", {}, "The link may be out of date, or the gig is no longer on sale."),
    el("p", {}, el("a", { href: "./", class: "button" }, "See all gigs")),
  );
}

/**
 * Set a <time>'s machine-readable value when the text is valid.
 * @param {string} slot
 * @param {string} value
 * @param {boolean} valid
 */
function setDatetime(slot, value, valid) {
  if (!valid) return;
  for (const node of article.querySelectorAll(`time[data-slot="${slot}"]`)) node.setAttribute("datetime", value);
}

/** Fill the expiry-year select with this year and the next 15. */
function fillExpiryYears() {
  const select = /** @type {HTMLSelectElement} */ (control("cardExpiryYear"));
  const first = new Date().getFullYear();
  for (let year = first; year < first + EXPIRY_YEARS; year += 1) {
    select.append(el("option", { value: String(year) }, String(year)));
  }
}

/**
 * Show the gig's details and prepare the form.
 * @param {Record<string, unknown>} gig
 * @param {string} requestedId The id from the URL, used if the gig has none.
 */
function renderGig(gig, requestedId) {
  const bandName = text(gig.bandName);
  const venue = text(gig.venue);
  const price = formatPrice(gig.price);

  document.title = `${bandName} at ${venue} · Encore`;
  fillGigSummary(article, gig);
  fillSlot(article, "originalDate", formatDate(gig.originalDate));
  fillSlot(article, "description", text(gig.description));
  fillSlot(article, "capacity", formatNumber(gig.capacity));
  fillSlot(article, "collectionPoint", text(gig.collectionPoint));
  fillSlot(article, "collectionTime", formatTime(gig.collectionTime));
  setDatetime("date", text(gig.date), parseIsoDate(gig.date) !== null);
  setDatetime("originalDate", text(gig.originalDate), parseIsoDate(gig.originalDate) !== null);
  setDatetime("collectionTime", text(gig.collectionTime), /^\d{2}:\d{2}$/.test(text(gig.collectionTime)));

  setImage(
    /** @type {HTMLImageElement} */ (article.querySelector("[data-slot-image='image']")),
    gig.image,
    `Poster for ${bandName} at ${venue}`,
  );
  setImage(
    /** @type {HTMLImageElement} */ (article.querySelector("[data-slot-image='collectionPointMap']")),
    gig.collectionPointMap,
    `Map showing the ticket collection point at ${venue}: ${text(gig.collectionPoint)}`,
  );

  gigId = text(gig.id) || requestedId;
  /** @type {HTMLInputElement} */ (form.elements.namedItem("gigId")).value = gigId;
  submitLabel = isPrice(gig.price) ? `Buy ticket for ${price}` : "Buy ticket";
  submitButton.textContent = submitLabel;
  if (ticketsLeft(gig.ticketsLeft) === 0) showSoldOut();
  article.hidden = false;
}

/**
 * Replace the form with "Sold out", and say so wherever the page counts tickets.
 * @param {{announce?: boolean}} [options] `announce`: the buyer just tried to buy; focus the news.
 */
function showSoldOut({ announce = false } = {}) {
  fillTicketsLeft(article, 0);
  for (const node of article.querySelectorAll("[data-slot-hide='sold-out']")) {
    if (node instanceof HTMLElement) node.hidden = true;
  }
  const panel = el(
    "div",
    { id: "sold-out", class: "sold-out", tabindex: "-1", ...(announce ? { role: "alert" } : {}) },
    el("p", { class: "sold-out__title" }, "Sold out"),
    el("p", {}, "Every ticket for this gig has been sold."),
    el("p", {}, el("a", { href: "./" }, "See the gigs still on sale")),
  );
  form.replaceWith(panel);
  if (announce) panel.focus();
}

/** Show the gig's tickets left as the API counts them now (after a purchase), skipping the browser's copy. */
async function refreshTicketsLeft() {
  try {
    const gig = await getGig(gigId, { fresh: true });
    if (gig) fillTicketsLeft(article, gig.ticketsLeft);
  } catch {
    // The count shown is a few seconds stale at worst; the purchase is what matters.
  }
}

/** Load the gig named in the URL. */
async function load(retried = false) {
  const id = new URLSearchParams(window.location.search).get("id")?.trim() ?? "";
  if (id === "") {
    showNotFound();
    return;
  }
  showProgress(status, "Loading gig…");
  try {
    const gig = await getGig(id);
    if (gig === null) {
      showNotFound();
      return;
    }
    clearStatus(status);
    renderGig(gig, id);
    const bought = boughtTickets()[gigId];
    if (bought && typeof bought.ticketId === "string") {
      showSuccess(bought.ticketId, text(bought.email), { restored: true });
    }
    if (retried) document.getElementById("gig-title")?.focus(); // not the status line, now empty
  } catch (error) {
    showLoadError(status, loadErrorMessage(error, "this gig"), () => {
      status.focus();
      load(true);
    });
  }
}

/* ---------- Form errors ---------- */

/** Remove every error message from the form. */
function clearErrors() {
  summary.replaceChildren();
  for (const field of FIELDS) setFieldError(field, null);
}

/**
 * Show or clear the error beside one field.
 * @param {string} field API field name.
 * @param {string|null} message
 */
function setFieldError(field, message) {
  const input = control(field);
  const slot = document.getElementById(`${field}-error`);
  if (!input || !slot) return;
  slot.textContent = message ?? "";
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  delete input.dataset.serverError;
}

/**
 * Fill the summary at the top of the form.
 * @param {string} title
 * @param {{field?: string, message: string}[]} [items] Problems; those with a known field link to it.
 * @param {Node[]} [extra] Anything to add after the list.
 */
function showSummary(title, items = [], extra = []) {
  const list = el("ul");
  for (const { field, message } of items) {
    const input = field ? control(field) : null;
    let content = /** @type {Node|string} */ (message);
    if (input) {
      const link = el("a", { href: `#${input.id}` }, message);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        input.focus();
      });
      content = link;
    }
    list.append(el("li", field ? { "data-field": field } : {}, content));
  }
  summary.replaceChildren(
    el("h3", { class: "form-errors__title" }, title),
    ...(items.length > 0 ? [list] : []),
    ...extra,
  );
}

/**
 * Show field errors beside their fields and in the summary, then focus the first.
 * @param {{field: string, message: string}[]} errors In form order where possible.
 * @param {string} title Summary heading.
 * @param {{nameFields?: boolean}} [options] nameFields: prefix each summary item with its field's label.
 */
function showFieldErrors(errors, title, { nameFields = false } = {}) {
  for (const { field, message } of errors) {
    const input = control(field);
    if (!input) continue;
    setFieldError(field, message);
    // Only the API can say it is right now: its error stays until the order is sent again.
    if (nameFields) input.dataset.serverError = "true";
  }
  // The API's messages ("Must be 3 or 4 digits") do not say which field; in the summary they must.
  const named = errors.map(({ field, message }) => {
    const label = nameFields ? labelOf(field) : "";
    return { field, message: label ? `${label}: ${message}` : message };
  });
  showSummary(title, named);
  const first = FIELDS.map(control).find((input) => input?.getAttribute("aria-invalid") === "true");
  (first ?? summary).focus();
}

/**
 * Show a problem that isn't about one field, and focus the summary.
 * @param {string} message
 * @param {Node[]} [extra]
 */
function showFormProblem(message, extra = []) {
  showSummary(message, [], extra);
  summary.focus();
}

/**
 * Turn an API "errors" array into field errors. Several errors for one field are joined.
 * @param {unknown} body
 * @returns {{field: string, message: string}[]}
 */
function serverErrors(body) {
  const raw = body && typeof body === "object" && Array.isArray(body.errors) ? body.errors : [];
  /** @type {Map<string, string[]>} */
  const byField = new Map();
  for (const item of raw) {
    if (!item || typeof item !== "object") continue;
    const field = text(item.field);
    const message = text(item.message) || "This value isn't valid.";
    byField.set(field, [...(byField.get(field) ?? []), message]);
  }
  const errors = [...byField].map(([field, messages]) => ({ field, message: messages.join(" ") }));
  // Known fields first, in form order; anything else after.
  const rank = (/** @type {string} */ field) => (FIELDS.includes(field) ? FIELDS.indexOf(field) : FIELDS.length);
  return errors.sort((a, b) => rank(a.field) - rank(b.field));
}

/* ---------- Submitting ---------- */

/** @returns {import("./validation.js").PurchaseFields} */
function readFields() {
  const value = (/** @type {string} */ field) => control(field)?.value ?? "";
  return {
    name: value("name"),
    email: value("email"),
    nameOnCard: value("nameOnCard"),
    cardNumber: value("cardNumber"),
    cardExpiryMonth: value("cardExpiryMonth"),
    cardExpiryYear: value("cardExpiryYear"),
    cardCVC: value("cardCVC"),
    disclaimerAccepted: /** @type {HTMLInputElement} */ (control("disclaimerAccepted")).checked,
  };
}

/**
 * The JSON body the purchase API expects.
 * @param {import("./validation.js").PurchaseFields} fields
 * @returns {Record<string, string|boolean>}
 */
function toPayload(fields) {
  return {
    gigId: /** @type {HTMLInputElement} */ (form.elements.namedItem("gigId")).value,
    name: fields.name.trim(),
    email: fields.email.trim(),
    nameOnCard: fields.nameOnCard.trim(),
    cardNumber: normaliseCardNumber(fields.cardNumber),
    cardExpiryMonth: fields.cardExpiryMonth.trim(),
    cardExpiryYear: fields.cardExpiryYear.trim(),
    cardCVC: fields.cardCVC.trim(),
    disclaimerAccepted: fields.disclaimerAccepted,
  };
}

/** @param {boolean} on */
function setBusy(on) {
  busy = on;
  submitButton.disabled = on;
  submitButton.textContent = on ? BUSY_LABEL : submitLabel;
  if (on) form.setAttribute("aria-busy", "true");
  else form.removeAttribute("aria-busy");
}

/**
 * @param {number} ms
 * @returns {Promise<void>}
 */
function delay(ms) {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}

/**
 * The Idempotency-Key for this order: the one it was first sent with, or a new one for a new order.
 * @param {Record<string, string|boolean>} payload
 * @returns {string}
 */
async function idempotencyKeyFor(payload) {
  const order = JSON.stringify(payload);
  if (sent === null || sent.order !== order) {
    const identity = await orderIdentity(payload);
    // An order this tab sent whose answer never came (the page was left, the connection dropped) keeps its key.
    sent = { order, identity, key: (identity && pendingKeys()[identity]) || newIdempotencyKey() };
  }
  if (sent.identity) savePendingKeys({ ...pendingKeys(), [sent.identity]: sent.key });
  return sent.key;
}

/**
 * The order as the shop tells orders apart (the gig, the name, the address; never the card), hashed: what
 * the tab may keep in sessionStorage. Empty where the browser has no SubtleCrypto (not https or localhost).
 * @param {Record<string, string|boolean>} payload
 * @returns {Promise<string>}
 */
async function orderIdentity(payload) {
  if (!globalThis.crypto?.subtle) return "";
  const identity = new TextEncoder().encode(JSON.stringify([payload.gigId, payload.name, payload.email]));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", identity));
  return [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * A record this tab keeps in sessionStorage ({} if there is none, or it cannot be read).
 * @param {string} name
 * @returns {Record<string, any>}
 */
function stored(name) {
  try {
    const value = JSON.parse(sessionStorage.getItem(name) ?? "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

/**
 * @param {string} name
 * @param {Record<string, unknown>} value
 */
function store(name, value) {
  try {
    sessionStorage.setItem(name, JSON.stringify(value));
  } catch {
    // Storage full or refused: what it holds lives as long as the page.
  }
}

/** @returns {Record<string, string>} The keys of orders sent from this tab and not yet answered. */
const pendingKeys = () => stored(PENDING_KEYS);
/** @param {Record<string, string>} keys */
const savePendingKeys = (keys) => store(PENDING_KEYS, keys);
/** @returns {Record<string, {ticketId: string, email: string}>} Tickets bought from this tab, by gig id. */
const boughtTickets = () => stored(BOUGHT);
/** @param {Record<string, {ticketId: string, email: string}>} tickets */
const saveBoughtTickets = (tickets) => store(BOUGHT, tickets);

/**
 * `ada@example.com` -> `a***@example.com`, as `GET /tickets/{id}` shows it.
 * @param {string} address
 */
function maskEmail(address) {
  const at = address.lastIndexOf("@");
  return `${address.slice(0, 1)}***@${address.slice(at + 1)}`;
}

/** The order last sent got an answer that settles it: its key is no longer needed to ask again. */
function forgetSentKey() {
  if (sent?.identity) {
    const { [sent.identity]: _, ...others } = pendingKeys();
    savePendingKeys(others);
  }
  sent = null;
}

/**
 * The fields an API error body names.
 * @param {unknown} body
 * @returns {string[]}
 */
function errorFields(body) {
  const raw = body && typeof body === "object" && Array.isArray(body.errors) ? body.errors : [];
  return raw.map((item) => (item && typeof item === "object" ? text(item.field) : ""));
}

/**
 * True for the 409 that means "an order with this key is still being processed".
 * @param {import("./api.js").ApiResponse} response
 */
function keyInProgress({ status: code, body }) {
  return code === 409 && errorFields(body).includes(IDEMPOTENCY_KEY);
}

/**
 * How long the API asks us to wait, in ms (seconds form only; bounded).
 * @param {Headers} headers
 * @returns {number}
 */
function retryAfterMs(headers) {
  const value = headers.get("Retry-After")?.trim() ?? "";
  const seconds = /^\d+$/.test(value) ? Number(value) : RETRY_AFTER_DEFAULT_SECONDS;
  return Math.min(Math.max(seconds, 1), RETRY_AFTER_MAX_SECONDS) * 1000;
}

/**
 * Send the order, with its key; while the API says that key is still in progress, wait and ask again.
 * @param {Record<string, string|boolean>} payload
 * @returns {Promise<import("./api.js").ApiResponse>}
 */
async function sendOrder(payload) {
  const key = await idempotencyKeyFor(payload);
  for (let retries = 0; ; retries += 1) {
    const response = await purchase(payload, key);
    if (!keyInProgress(response) || retries >= IN_PROGRESS_RETRIES) return response;
    await delay(retryAfterMs(response.headers));
  }
}

/**
 * Replace the form with the confirmation, then follow the ticket until its email is sent.
 * @param {string} ticketId
 * @param {string} email
 * @param {{restored?: boolean}} [options] `restored`: shown again on coming back to the page; focus stays put.
 */
function showSuccess(ticketId, email, { restored = false } = {}) {
  const code = el("code", { id: "ticket-id", class: "ticket-id" }, ticketId || "See your confirmation email");
  const idLine = el("p", { class: "ticket-id-line" }, code);
  if (ticketId && navigator.clipboard && window.isSecureContext) {
    const copied = el("span", { class: "copy-status", role: "status" });
    const copy = el("button", { type: "button", class: "button button--secondary button--small" }, "Copy");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(ticketId);
        copied.textContent = "Copied";
      } catch {
        copied.textContent = "Select the ID to copy it";
      }
    });
    idLine.append(" ", copy, " ", copied);
  }
  const title = el("h3", { class: "success__title" }, "You're going!");
  const ticketStatus = el("div", { id: "ticket-status", class: "ticket-status", role: "status" });
  const keep = el("p", {}, "Keep your ticket ID handy when you collect your ticket.");
  const another = el("button", { type: "button", class: "button button--secondary" }, "Buy another ticket");
  another.addEventListener("click", () => {
    const { [gigId]: _, ...others } = boughtTickets();
    saveBoughtTickets(others);
    window.location.reload();
  });
  const panel = el(
    "div",
    { id: "purchase-success", class: "success", tabindex: "-1" },
    title,
    el("p", {}, "Your ticket ID:"),
    idLine,
    ticketStatus,
    keep,
    el("p", {}, another),
    el("p", {}, el("a", { href: "./" }, "Browse more gigs")),
  );

  /** @param {keyof typeof TICKET_STATUSES} status */
  const show = (status) => {
    const words = TICKET_STATUSES[status];
    ticketStatus.dataset.status = status;
    ticketStatus.replaceChildren(
      el("p", { class: "ticket-status__label" }, el("span", { class: "visually-hidden" }, "Status: "), words.label),
      el("p", {}, ...words.detail(el("strong", {}, email))),
    );
    title.textContent = words.title ?? "You're going!";
    keep.hidden = status === "RELEASED";
  };
  show("RESERVED");
  // In place of the form, or of the sold-out notice when the buyer's ticket was the last.
  (form.isConnected ? form : document.getElementById("sold-out"))?.replaceWith(panel);
  if (!restored) panel.focus();
  if (ticketId) followTicket(ticketId, show);
}

/**
 * Ask for the ticket's status every {@link POLL_EVERY_MS} until it settles or {@link POLL_FOR_MS} pass.
 * Only a change is shown, so the live region speaks once per step.
 * @param {string} ticketId
 * @param {(status: keyof typeof TICKET_STATUSES) => void} show
 */
async function followTicket(ticketId, show) {
  const deadline = Date.now() + POLL_FOR_MS;
  let shown = "RESERVED";
  while (Date.now() + POLL_EVERY_MS <= deadline) {
    await delay(POLL_EVERY_MS);
    let status = "";
    try {
      status = text((await getTicket(ticketId))?.status);
    } catch {
      continue; // one missed look-up; the next may work
    }
    if (!Object.hasOwn(TICKET_STATUSES, status) || status === "SLOW") continue;
    if (status !== shown) {
      show(/** @type {keyof typeof TICKET_STATUSES} */ (status));
      shown = status;
    }
    if (SETTLED.has(status)) return;
  }
  show("SLOW");
}

/**
 * Act on the purchase API's answer.
 * @param {import("./api.js").ApiResponse} response
 * @param {string} email
 */
function handleResponse(response, email) {
  const { status: code, ok, body } = response;
  const message = body && typeof body === "object" ? text(body.message) : "";
  // A 503, a 429 or "still in progress" leaves the order unsettled: sending it again must reuse its key.
  const unsettled = !ok && (keyInProgress(response) || code === 429 || code >= 500);
  if (!unsettled) forgetSentKey();
  if (ok) {
    const ticketId = body && typeof body === "object" ? text(body.ticketId) : "";
    if (ticketId) saveBoughtTickets({ ...boughtTickets(), [gigId]: { ticketId, email: maskEmail(email) } });
    showSuccess(ticketId, email);
    refreshTicketsLeft();
  } else if (keyInProgress(response)) {
    showFormProblem(MESSAGES.inProgress);
  } else if (code === 409 && errorFields(body).includes("gigId")) {
    showSoldOut({ announce: true });
  } else if (code === 404) {
    showFormProblem(MESSAGES.gone, [el("p", {}, el("a", { href: "./" }, "See the gigs still on sale"))]);
  } else if (code === 413) {
    showFormProblem(MESSAGES.tooLarge);
  } else if ((code === 400 || code === 422) && errorFields(body).includes(IDEMPOTENCY_KEY)) {
    // The key is spoiled for this order (forgotten above): the next attempt gets a new one.
    showFormProblem(MESSAGES.keyReused);
  } else if (code === 400 || code === 422) {
    const errors = serverErrors(body);
    if (errors.length > 0) showFieldErrors(errors, message || MESSAGES.invalid, { nameFields: true });
    else showFormProblem(message || MESSAGES.invalid);
  } else {
    showFormProblem(MESSAGES.unavailable);
  }
}

/** @param {SubmitEvent} event */
async function onSubmit(event) {
  event.preventDefault();
  if (busy) return;
  clearErrors();

  const fields = readFields();
  const clientErrors = Object.entries(validatePurchase(fields)).map(([field, message]) => ({ field, message }));
  if (clientErrors.length > 0) {
    const count = clientErrors.length;
    showFieldErrors(clientErrors, count === 1 ? "There is a problem" : `There are ${count} problems`);
    return;
  }

  // Busy before the first await: a second click or Enter finds the button disabled and sends nothing.
  setBusy(true);
  const payload = toPayload(fields);
  try {
    const response = await sendOrder(payload);
    setBusy(false);
    handleResponse(response, text(payload.email));
  } catch (error) {
    setBusy(false);
    const kind = error instanceof ApiError ? error.kind : "network";
    showFormProblem(kind === "timeout" ? MESSAGES.timeout : kind === "config" ? MESSAGES.unavailable : MESSAGES.network);
  }
}

/**
 * Once a field has been marked invalid, clear its error as soon as the form's own checks pass (an error only
 * the API could find stays until the order is sent again).
 * @param {Event} event
 */
function onEdit(event) {
  const target = /** @type {HTMLInputElement} */ (event.target);
  const expiry = target.name.startsWith("cardExpiry");
  // The month's "expired" may be corrected by choosing a later year: either expiry field counts.
  const edited = expiry ? ["cardExpiryMonth", "cardExpiryYear"] : [target.name];
  const invalid = (/** @type {string} */ field) => control(field)?.getAttribute("aria-invalid") === "true";
  if (!FIELDS.includes(target.name) || !edited.some(invalid)) return;
  const fields = readFields();
  const current = expiry
    ? validateExpiry(fields.cardExpiryMonth, fields.cardExpiryYear)
    : validatePurchase(fields);
  for (const field of edited) {
    if (current[/** @type {keyof typeof current} */ (field)] || control(field)?.dataset.serverError) continue;
    setFieldError(field, null);
    summary.querySelector(`li[data-field="${field}"]`)?.remove();
  }
  if (summary.querySelector("li") === null && summary.querySelector("ul")) summary.replaceChildren();
}

fillExpiryYears();
// Leaving while an order is on its way would lose its answer: the browser asks the buyer first.
window.addEventListener("beforeunload", (event) => {
  if (busy) event.preventDefault();
});
// The browser refills a form it restores (Back, Forward, a reload): never the card's number or code.
window.addEventListener("pageshow", () => {
  for (const field of ["cardNumber", "cardCVC"]) {
    const input = control(field);
    if (input) input.value = "";
  }
});
form.addEventListener("submit", onSubmit);
form.addEventListener("input", onEdit);
form.addEventListener("change", onEdit);
load();
