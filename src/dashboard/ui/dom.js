/* global document, Node */
/**
 * The only way this page builds DOM: elements made with createElement, text
 * put in as text nodes. Nothing a message carries is ever parsed as HTML
 * (no innerHTML anywhere), and no attribute that can run code or navigate
 * (on*, href, src) is ever set from data.
 */

/** h("td", { class: "num" }, "42", otherElement): an element with text and children. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "onclick" || name === "onchange") el.addEventListener(name.slice(2), value);
    else if (name.startsWith("data-") || name === "type" || name === "title" || name === "name" || name === "value" || name === "disabled") el.setAttribute(name, value === true ? "" : String(value));
    else throw new Error(`h(): attribute ${name} is not allowed`);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replace the element's children. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null));
}

export const $ = (selector) => document.querySelector(selector);

export function time(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-";
}

export function age(ms) {
  if (ms === undefined || ms === null) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.floor(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export const dash = (v) => (v === undefined || v === null || v === "" ? "-" : String(v));

export function showError(err) {
  const box = $("#error");
  if (!err) {
    box.hidden = true;
    return;
  }
  box.textContent = err instanceof Error ? err.message : String(err);
  box.hidden = false;
}
