// The page's strings in English and Chinese (static/i18n/*.json, which the server also renders the shell from);
// the choice is remembered in localStorage.
const STORE = "plait.lang";
const LANGS = ["en", "zh"];
let strings = {};
let fallback = {};

export let lang = "en";

export function t(key, values = {}) {
  const text = strings[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
}

async function load(code) {
  const response = await fetch(`/studio/static/i18n/${code}.json`);
  return response.json();
}

export async function setLang(code) {
  lang = LANGS.includes(code) ? code : "en";
  localStorage.setItem(STORE, lang);
  if (!Object.keys(fallback).length) fallback = await load("en");
  strings = lang === "en" ? fallback : await load(lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
}

export function savedLang() {
  const saved = localStorage.getItem(STORE);
  if (saved) return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}
