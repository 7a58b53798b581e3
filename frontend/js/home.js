/**
 * Home page: list the gigs on sale as cards.
 * @module home
 */

import { getGigs } from "./api.js";
import { parseIsoDate, text } from "./format.js";
import { clearStatus, el, fillGigSummary, loadErrorMessage, setImage, showLoadError, showProgress } from "./ui.js";

/** Cards likely to be above the fold on a wide screen load eagerly; the rest lazily. */
const EAGER_IMAGES = 3;

const status = /** @type {HTMLElement} */ (document.getElementById("status"));
const list = /** @type {HTMLUListElement} */ (document.getElementById("gig-list"));
const template = /** @type {HTMLTemplateElement} */ (document.getElementById("gig-card-template"));

/**
 * Build one gig card from the template.
 * @param {Record<string, unknown>} gig
 * @param {number} index Position in the list.
 * @returns {DocumentFragment}
 */
function renderCard(gig, index) {
  const card = /** @type {DocumentFragment} */ (template.content.cloneNode(true));
  const bandName = text(gig.bandName);
  const venue = text(gig.venue);

  fillGigSummary(card, gig);

  const time = card.querySelector("time[data-slot='date']");
  if (time && parseIsoDate(gig.date)) time.setAttribute("datetime", text(gig.date));

  const link = /** @type {HTMLAnchorElement} */ (card.querySelector("a[data-slot='link']"));
  link.href = `gig.html?${new URLSearchParams({ id: text(gig.id) })}`;

  const img = /** @type {HTMLImageElement} */ (card.querySelector("img"));
  img.loading = index < EAGER_IMAGES ? "eager" : "lazy";
  setImage(img, gig.image, `Poster for ${bandName} at ${venue}`);
  return card;
}

/** Fetch the gigs and render them, or explain why not. */
async function load(retried = false) {
  showProgress(status, "Loading gigs…");
  list.hidden = true;
  try {
    const gigs = await getGigs();
    list.replaceChildren(...gigs.map(renderCard));
    if (gigs.length === 0) {
      status.replaceChildren(el("p", {}, "No gigs are on sale right now. Please check back soon."));
      status.className = "status";
      return;
    }
    clearStatus(status);
    list.hidden = false;
    if (retried) list.querySelector("a")?.focus(); // not the status line, now empty
  } catch (error) {
    showLoadError(status, loadErrorMessage(error, "the gigs"), () => {
      status.focus();
      load(true);
    });
  }
}

load();
