/**
 * Small DOM helpers shared by the pages. API data only ever reaches the page
 * as text nodes or validated URLs, never as HTML.
 * @module ui
 */

import { ApiError } from "./api.js";
import { formatDate, formatPrice, formatTicketsLeft, text, ticketsLeft } from "./format.js";

/**
 * Create an element. String children become text nodes.
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {...(Node|string)} children
 * @returns {HTMLElement}
 */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/**
 * Set the text of every `[data-slot="<slot>"]` inside root.
 * @param {ParentNode} root
 * @param {string} slot
 * @param {string} value
 */
export function fillSlot(root, slot, value) {
  for (const node of root.querySelectorAll(`[data-slot="${slot}"]`)) node.textContent = value;
}

/**
 * Fill the slots every view of a gig shows: band, venue, city, year, date of the show, price and
 * tickets left.
 * @param {ParentNode} root
 * @param {Record<string, unknown>} gig
 */
export function fillGigSummary(root, gig) {
  fillSlot(root, "bandName", text(gig.bandName));
  fillSlot(root, "venue", text(gig.venue));
  fillSlot(root, "city", text(gig.city));
  fillSlot(root, "year", text(gig.year));
  fillSlot(root, "date", formatDate(gig.date));
  fillSlot(root, "price", formatPrice(gig.price));
  fillTicketsLeft(root, gig.ticketsLeft);
}

/**
 * Show how many tickets are left ("Sold out" at 0); hide the slot if the API gave no usable count.
 * @param {ParentNode} root
 * @param {unknown} value The API's `ticketsLeft`.
 */
export function fillTicketsLeft(root, value) {
  const shown = formatTicketsLeft(value);
  for (const node of root.querySelectorAll("[data-slot='ticketsLeft']")) {
    node.textContent = shown;
    node.classList.toggle("availability--sold-out", ticketsLeft(value) === 0);
    if (node instanceof HTMLElement) node.hidden = shown === "";
  }
}

/**
 * Resolve an image path from the API against the site root. Only this site's own URLs pass, as the
 * Content-Security-Policy allows (`img-src 'self'`): not `//elsewhere/...`, `javascript:` or `data:`.
 * @param {unknown} path e.g. "images/gigs/queen.svg"
 * @returns {string|null} Absolute URL, or null if unusable.
 */
export function assetUrl(path) {
  if (typeof path !== "string" || path.trim() === "") return null;
  try {
    const url = new URL(path.trim(), `${window.location.origin}/`);
    return url.origin === window.location.origin ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Point an <img> at an API-supplied path; if it is unusable or fails to load,
 * hide the image and let its container's placeholder show instead.
 * @param {HTMLImageElement} img
 * @param {unknown} path
 * @param {string} alt
 */
export function setImage(img, path, alt) {
  const src = assetUrl(path);
  img.alt = alt;
  img.addEventListener("error", () => {
    img.hidden = true;
  }, { once: true });
  if (src) img.src = src;
  else img.hidden = true;
}

/**
 * Turn a loading failure into a sentence for people.
 * @param {unknown} error
 * @param {string} what What was being loaded, e.g. "the gigs".
 * @returns {string}
 */
export function loadErrorMessage(error, what) {
  if (error instanceof ApiError) {
    if (error.kind === "network" || error.kind === "timeout") {
      return "We can't reach the ticket service. Check your connection and try again.";
    }
    if (error.kind === "config") {
      return "This site couldn't load its settings, so it can't reach the ticket service. Please try again later.";
    }
  }
  return `We couldn't load ${what} right now. Please try again in a moment.`;
}

/**
 * Show a polite progress message in the page status area.
 * @param {HTMLElement} status
 * @param {string} message
 */
export function showProgress(status, message) {
  status.setAttribute("role", "status");
  status.className = "status status--progress";
  status.replaceChildren(el("p", {}, message));
}

/** Empty the status area (the content it described has arrived). */
export function clearStatus(/** @type {HTMLElement} */ status) {
  status.setAttribute("role", "status");
  status.className = "status";
  status.replaceChildren();
}

/**
 * Show an error in the page status area with a "Try again" button.
 * @param {HTMLElement} status
 * @param {string} message
 * @param {() => void} onRetry
 */
export function showLoadError(status, message, onRetry) {
  const button = el("button", { type: "button", class: "button button--secondary" }, "Try again");
  button.addEventListener("click", onRetry, { once: true });
  status.setAttribute("role", "alert");
  status.className = "status status--error";
  status.replaceChildren(el("p", {}, message), button);
}
