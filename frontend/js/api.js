/**
 * Settings loading and a small fetch wrapper for the ticket API.
 * Transport failures throw {@link ApiError}; HTTP answers are returned as data.
 * @module api
 */

export const SETTINGS_PATH = "/.well-known/settings.json";
export const TIMEOUT_MS = 15000;

/**
 * A failure to talk to the API at all.
 * `kind` is one of:
 * - "config": settings.json missing or invalid,
 * - "network": the request never got an answer (offline, DNS, CORS, server down),
 * - "timeout": no answer within {@link TIMEOUT_MS},
 * - "http": an unexpected status (see `status`),
 * - "invalid": a 2xx answer whose body isn't the expected shape.
 */
export class ApiError extends Error {
  /**
   * @param {"config"|"network"|"timeout"|"http"|"invalid"} kind
   * @param {string} message
   * @param {{status?: number, body?: unknown, cause?: unknown}} [details]
   */
  constructor(kind, message, { status = 0, body = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.body = body;
  }
}

/**
 * Join a base URL and a path with exactly one slash between them.
 * @param {string} base e.g. "https://x.example/prod" or "https://x.example/prod/"
 * @param {string} path e.g. "/gigs" or "gigs"
 * @returns {string}
 */
export function joinUrl(base, path) {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/**
 * Fetch with a timeout, turning transport failures into ApiError.
 * @param {string} url
 * @param {RequestInit} [init]
 * @param {number} [timeoutMs]
 * @returns {Promise<Response>}
 */
async function fetchWithTimeout(url, init = {}, timeoutMs = TIMEOUT_MS) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } catch (error) {
    if (controller.signal.aborted) {
      throw new ApiError("timeout", "The request took too long.", { cause: error });
    }
    throw new ApiError("network", "The request could not be sent.", { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Read a JSON body, or null if there is none or it isn't JSON.
 * @param {Response} response
 * @returns {Promise<unknown>}
 */
async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** @type {Promise<{apiBaseUrl: string}>|null} */
let settingsPromise = null;

/**
 * Load `/.well-known/settings.json` once per page (a failed load is retried on the next call).
 * @returns {Promise<{apiBaseUrl: string}>}
 * @throws {ApiError} kind "config" if the settings are missing or invalid.
 */
export function loadSettings() {
  settingsPromise ??= (async () => {
    let response;
    try {
      response = await fetchWithTimeout(SETTINGS_PATH, {
        cache: "no-cache",
        headers: { Accept: "application/json" },
      });
    } catch (error) {
      throw new ApiError("config", "The site settings could not be loaded.", { cause: error });
    }
    const body = response.ok ? await readJson(response) : null;
    const apiBaseUrl = body && typeof body === "object" ? body.apiBaseUrl : undefined;
    if (typeof apiBaseUrl !== "string" || !/^https?:\/\/[^/]/i.test(apiBaseUrl)) {
      throw new ApiError("config", "The site settings are missing or invalid.", {
        status: response.status,
      });
    }
    return { apiBaseUrl };
  })().catch((error) => {
    settingsPromise = null;
    throw error;
  });
  return settingsPromise;
}

/**
 * @typedef {object} ApiResponse
 * @property {number} status HTTP status.
 * @property {boolean} ok True for 2xx.
 * @property {unknown} body Parsed JSON body, or null.
 * @property {Headers} headers Response headers (cross-origin, only those CORS exposes).
 */

/**
 * @typedef {object} RequestOptions
 * @property {string} [method]
 * @property {unknown} [json] A body to send as JSON.
 * @property {Record<string, string>} [headers] Extra request headers.
 * @property {RequestCache} [cache] The fetch cache mode.
 * @property {number} [timeoutMs]
 */

/**
 * Call the API. Resolves with any HTTP answer; rejects only if there was none.
 * @param {string} path API path, e.g. "/gigs".
 * @param {RequestOptions} [options]
 * @returns {Promise<ApiResponse>}
 * @throws {ApiError} kind "config", "network" or "timeout".
 */
export async function request(path, { method = "GET", json, headers = {}, cache, timeoutMs = TIMEOUT_MS } = {}) {
  const { apiBaseUrl } = await loadSettings();
  /** @type {RequestInit} */
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "omit" };
  if (cache) init.cache = cache;
  if (json !== undefined) {
    init.headers = { ...init.headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(json);
  }
  const response = await fetchWithTimeout(joinUrl(apiBaseUrl, path), init, timeoutMs);
  return { status: response.status, ok: response.ok, body: await readJson(response), headers: response.headers };
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * List the gigs on sale.
 * @returns {Promise<Record<string, unknown>[]>} Gig objects (fields still untrusted).
 * @throws {ApiError}
 */
export async function getGigs() {
  const response = await request("/gigs");
  if (!response.ok) {
    throw new ApiError("http", `Unexpected status ${response.status}.`, response);
  }
  const gigs = response.body; // a bare array, the shape the workshop frontend reads too
  if (!Array.isArray(gigs)) throw new ApiError("invalid", "The gig list was not understood.");
  return gigs.filter(isObject);
}

/**
 * Fetch one gig.
 * @param {string} id
 * @param {{fresh?: boolean}} [options] `fresh`: skip the browser's cached copy (the API allows a few
 *   seconds' reuse), and keep the answer for the next page load.
 * @returns {Promise<Record<string, unknown>|null>} The gig, or null if the API says 404.
 * @throws {ApiError}
 */
export async function getGig(id, { fresh = false } = {}) {
  const response = await request(`/gigs/${encodeURIComponent(id)}`, fresh ? { cache: "reload" } : {});
  if (response.status === 404) return null;
  if (!response.ok) {
    throw new ApiError("http", `Unexpected status ${response.status}.`, response);
  }
  if (!isObject(response.body)) throw new ApiError("invalid", "The gig was not understood.");
  return response.body;
}

/**
 * A new Idempotency-Key: a random UUID.
 * @returns {string}
 */
export function newIdempotencyKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // randomUUID exists only in secure contexts (https, localhost); getRandomValues everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Submit a purchase. The caller interprets the status (202, 400, 404, 409, 413, 422, 429, 5xx).
 * @param {Record<string, string|boolean>} payload
 * @param {string} idempotencyKey The same key for every attempt at this one order.
 * @returns {Promise<ApiResponse>}
 * @throws {ApiError} kind "config", "network" or "timeout".
 */
export function purchase(payload, idempotencyKey) {
  return request("/purchase", { method: "POST", json: payload, headers: { "Idempotency-Key": idempotencyKey } });
}

/** How long one ticket look-up may take: it is repeated every second or so. */
export const TICKET_TIMEOUT_MS = 5000;

/**
 * Look a ticket up: where it is between RESERVED and CONFIRMED.
 * @param {string} ticketId
 * @returns {Promise<Record<string, unknown>|null>} The ticket, or null if the API says 404.
 * @throws {ApiError}
 */
export async function getTicket(ticketId) {
  const response = await request(`/tickets/${encodeURIComponent(ticketId)}`, {
    cache: "no-store",
    timeoutMs: TICKET_TIMEOUT_MS,
  });
  if (response.status === 404) return null;
  if (!response.ok) {
    throw new ApiError("http", `Unexpected status ${response.status}.`, response);
  }
  if (!isObject(response.body)) throw new ApiError("invalid", "The ticket was not understood.");
  return response.body;
}
